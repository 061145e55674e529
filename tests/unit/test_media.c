/*
 * Unit tests for the voice channel's media (media/wav.c, media/clips.c,
 * media/voicesum.c) and its small pure helpers: WAV written and read back in memory,
 * formats refused, the clip library's checks (a missing, empty, mis-formatted or doubled
 * clip is an error naming it), a summary's WAV holding exactly the samples of its clips
 * in order with the clips' words as its text (on the real library in audio/), sealed
 * numbers, and quiet hours in India time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libgen.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel/phone.h"
#include "media/clips.h"
#include "media/voicesum.h"
#include "media/wav.h"
#include "text/speech.h"
#include "voice/callback.h"

static void root_dir(char *out, size_t n)
{
    const char *env = getenv("HISAAB_ROOT");
    char exe[1024];
    ssize_t len;

    if (env != NULL) {
        snprintf(out, n, "%s", env);
        return;
    }
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(len > 0);
    exe[len] = '\0';
    snprintf(out, n, "%s", dirname(dirname(dirname(exe))));
}

static void test_wav_round_trip(void **state)
{
    int16_t a[800], b[400], *back;
    struct wav_part parts[2];
    unsigned char *wav;
    size_t len, off, frames, i;
    char err[128];

    (void)state;
    for (i = 0; i < 800; i++)
        a[i] = (int16_t)(i * 37 - 12000);
    for (i = 0; i < 400; i++)
        b[i] = (int16_t)(-(int)i * 51);
    parts[0] = (struct wav_part){a, 800};
    parts[1] = (struct wav_part){b, 400};
    assert_int_equal(wav_write(parts, 2, &wav, &len, &off), 0);
    assert_int_equal(len, off + 1200 * 2);
    assert_memory_equal(wav, "RIFF", 4);
    assert_memory_equal(wav + off - 8, "data", 4);
    assert_memory_equal(wav + off, a, sizeof(a));
    assert_memory_equal(wav + off + sizeof(a), b, sizeof(b));
    assert_int_equal(wav_read(wav, len, &back, &frames, err, sizeof(err)), 0);
    assert_int_equal(frames, 1200);
    assert_memory_equal(back, a, sizeof(a));
    assert_memory_equal(back + 800, b, sizeof(b));
    free(back);
    /* Cut short: refused or fewer frames, never a crash. */
    if (wav_read(wav, 30, &back, &frames, err, sizeof(err)) == 0)
        free(back);
    assert_int_equal(wav_read("not a wav file at all....", 25, &back, &frames, err, sizeof(err)),
                     -1);
    free(wav);
}

/* A WAV file at path with frames of samplerate, channels and format. */
static void write_file(const char *path, int rate, int channels, int format, int frames)
{
    SF_INFO info = {0};
    SNDFILE *sf;
    short *s = calloc((size_t)frames * (size_t)channels, sizeof(short));
    int i;

    for (i = 0; i < frames * channels; i++)
        s[i] = (short)((i % 50) * 300);
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    sf = sf_open(path, SFM_WRITE, &info);
    assert_non_null(sf);
    assert_int_equal(sf_writef_short(sf, s, frames), frames);
    sf_close(sf);
    free(s);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_clips_load_checks(void **state)
{
    char dir[] = "/tmp/hisaab-clips-XXXXXX", p[512], err[512];
    const char *ids[] = {"n1", "q_pin"};
    const struct clip *c;
    const int pcm16 = SF_FORMAT_WAV | SF_FORMAT_PCM_16;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/hi", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/en", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/hi/n1.wav", dir);
    write_file(p, 8000, 1, pcm16, 4000);
    snprintf(p, sizeof(p), "%s/en/n1.wav", dir);
    write_file(p, 8000, 1, pcm16, 3000);
    snprintf(p, sizeof(p), "%s/hi/q_pin.wav", dir);
    write_file(p, 8000, 1, pcm16, 8000);
    snprintf(p, sizeof(p), "%s/clips.tsv", dir);
    write_text(p, "id\tlang\twords\tsource\nn1\thi\tएक\tespeak-ng\nn1\ten\tone\trecorded\n"
                  "# a comment\nq_pin\thi\tपिन डालें\tespeak-ng\n");
    assert_int_equal(clips_load(dir, err, sizeof(err)), 0);
    assert_int_equal(clips_count(), 3);
    c = clips_get(I18N_EN, "n1");
    assert_non_null(c);
    assert_string_equal(c->words, "one");
    assert_true(c->recorded);
    assert_int_equal(c->frames, 3000);
    assert_int_equal(c->wav_len, (size_t)((const unsigned char *)c->pcm - c->wav) + 6000);
    assert_int_equal(strlen(c->etag), 18);
    assert_false(clips_get(I18N_HI, "n1")->recorded);
    assert_null(clips_get(I18N_EN, "q_pin"));
    /* q_pin in English is missing: named. */
    assert_int_equal(clips_require(ids, 2, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "en/q_pin"));

    /* A clip listed without its file. */
    write_text(p, "n1\thi\tएक\tx\nn2\thi\tदो\tx\n");
    assert_int_equal(clips_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "hi/n2"));
    /* The library loaded before stays. */
    assert_int_equal(clips_count(), 3);
    /* Wrong rate, stereo, float, an empty clip, twice listed, a bad line. */
    snprintf(p, sizeof(p), "%s/hi/n2.wav", dir);
    write_file(p, 16000, 1, pcm16, 4000);
    snprintf(p, sizeof(p), "%s/clips.tsv", dir);
    write_text(p, "n2\thi\tदो\tx\n");
    assert_int_equal(clips_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "16000 Hz"));
    snprintf(p, sizeof(p), "%s/hi/n2.wav", dir);
    write_file(p, 8000, 2, pcm16, 4000);
    snprintf(p, sizeof(p), "%s/clips.tsv", dir);
    assert_int_equal(clips_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "2 channel"));
    snprintf(p, sizeof(p), "%s/hi/n2.wav", dir);
    write_file(p, 8000, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 4000);
    assert_int_equal(clips_load(dir, err, sizeof(err)), -1);
    write_file(p, 8000, 1, pcm16, 100); /* 12.5 ms */
    assert_int_equal(clips_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty clip"));
    snprintf(p, sizeof(p), "%s/clips.tsv", dir);
    write_text(p, "n1\thi\tएक\tx\nn1\thi\tएक\tx\n");
    assert_int_equal(clips_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "twice"));
    write_text(p, "N1\thi\tएक\tx\n");
    assert_int_equal(clips_load(dir, err, sizeof(err)), -1);
    write_text(p, "n1\tfr\tun\tx\n");
    assert_int_equal(clips_load(dir, err, sizeof(err)), -1);
    clips_free();
    assert_int_equal(clips_count(), 0);
    snprintf(p, sizeof(p), "rm -rf %s", dir);
    assert_int_equal(system(p), 0);
}

/* The summary on the real library: its WAV is its clips' samples in order. */
static void test_summary_is_its_clips(void **state)
{
    char root[1024], audio[1100], err[512], did[SPEECH_ID_MAX];
    const char *ids[SPEECH_SUMMARY_IDS];
    struct dir_district row;
    struct voicesum vs;
    int16_t *pcm;
    size_t frames, n, i, at = 0;
    int l;

    (void)state;
    root_dir(root, sizeof(root));
    snprintf(audio, sizeof(audio), "%s/audio", root);
    if (clips_load(audio, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    memset(&row, 0, sizeof(row));
    row.state_code = 17;
    row.district_code = 1752;
    row.has_id = 1;
    row.has_facts = 1;
    row.facts.year = 2025;
    row.facts.month = 3;
    row.facts.have_families = row.facts.have_days = row.facts.have_wage = 1;
    row.facts.have_paid = row.facts.have_state_days = 1;
    row.facts.families = 22629;
    row.facts.days = 49.4;
    row.facts.wage = 237.2;
    row.facts.paid_pct = 99.94;
    row.facts.state_days = 48.6;
    for (l = 0; l < 2; l++) {
        enum i18n_lang lang = l == 0 ? I18N_EN : I18N_HI;

        assert_int_equal(voicesum_make(&row, lang, &vs), VOICESUM_OK);
        assert_int_equal(speech_district_id(1752, did, sizeof(did)), 0);
        assert_int_equal(speech_summary(lang, did, &row.facts, ids, SPEECH_SUMMARY_IDS, &n), 0);
        assert_int_equal(vs.nclips, n);
        assert_int_equal(wav_read(vs.wav, vs.wav_len, &pcm, &frames, err, sizeof(err)), 0);
        for (i = 0; i < n; i++) {
            assert_string_equal(vs.clips[i]->id, ids[i]);
            assert_true(at + vs.clips[i]->frames <= frames);
            assert_memory_equal(pcm + at, vs.clips[i]->pcm, vs.clips[i]->frames * 2);
            at += vs.clips[i]->frames;
        }
        assert_int_equal(at, frames);
        at = 0;
        free(pcm);
        /* The words: the clips' own, in order. */
        if (lang == I18N_EN) {
            assert_non_null(strstr(vs.text, "twenty-two thousand six hundred twenty-nine"));
            assert_non_null(strstr(vs.text, "families got work."));
            assert_non_null(strstr(vs.text, "March"));
        } else {
            assert_non_null(strstr(vs.text, "बाईस हज़ार छह सौ उनतीस"));
            assert_non_null(strstr(vs.text, "निवाड़ी"));
        }
        voicesum_free(&vs);
    }
    /* No figures: no summary; a district without a clip: named as missing. */
    row.has_facts = 0;
    assert_int_equal(voicesum_make(&row, I18N_EN, &vs), VOICESUM_NO_DATA);
    row.has_facts = 1;
    row.district_code = 9999;
    assert_int_equal(voicesum_make(&row, I18N_EN, &vs), VOICESUM_MISSING_CLIP);
    clips_free();
}

static void test_seal(void **state)
{
    char sealed[PHONE_SEALED_MAX], again[PHONE_SEALED_MAX], e164[PHONE_E164_MAX];

    (void)state;
    assert_int_equal(phone_seal("k", 1, "+919876543210", sealed, sizeof(sealed)), 0);
    assert_null(strstr(sealed, "9876543210"));
    assert_int_equal(phone_seal("k", 1, "+919876543210", again, sizeof(again)), 0);
    assert_string_not_equal(sealed, again); /* a fresh nonce each time */
    assert_int_equal(phone_unseal("k", 1, sealed, e164, sizeof(e164)), 0);
    assert_string_equal(e164, "+919876543210");
    assert_int_equal(phone_unseal("other", 5, sealed, e164, sizeof(e164)), -1);
    assert_string_equal(e164, "");
    sealed[30] = sealed[30] == '0' ? '1' : '0'; /* tampered */
    assert_int_equal(phone_unseal("k", 1, sealed, e164, sizeof(e164)), -1);
    assert_int_equal(phone_unseal("k", 1, "zz", e164, sizeof(e164)), -1);
    assert_int_equal(phone_unseal("k", 1, "", e164, sizeof(e164)), -1);
    assert_int_equal(phone_seal("k", 1, "", sealed, sizeof(sealed)), -1);
}

static void test_quiet_hours(void **state)
{
    /* 2025-12-01 15:29:59 UTC = 20:59:59 IST; 15:30 UTC = 21:00 IST. */
    const time_t t2059 = 1764602999, t2100 = 1764603000;
    const time_t t0759 = t2100 + 11 * 3600 - 60, t0800 = t2100 + 11 * 3600;

    (void)state;
    assert_false(callback_quiet(t2059, 21 * 60, 8 * 60));
    assert_true(callback_quiet(t2100, 21 * 60, 8 * 60));
    assert_true(callback_quiet(t0759, 21 * 60, 8 * 60));
    assert_false(callback_quiet(t0800, 21 * 60, 8 * 60));
    /* Not wrapping: 13:00-14:00 IST. */
    assert_true(callback_quiet(t2100 - 8 * 3600, 13 * 60, 14 * 60));
    assert_false(callback_quiet(t2100 - 7 * 3600, 13 * 60, 14 * 60));
    assert_false(callback_quiet(t2100, -1, -1)); /* off */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wav_round_trip),       cmocka_unit_test(test_clips_load_checks),
        cmocka_unit_test(test_summary_is_its_clips), cmocka_unit_test(test_seal),
        cmocka_unit_test(test_quiet_hours),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
