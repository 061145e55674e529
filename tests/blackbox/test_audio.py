"""The voice clip library (audio/, see audio/README.md) as committed: needs no service and
no synthesiser.

- The manifest audio/clips.tsv: its format; every clip in both languages; the ids the call
  flow and text/speech.c use (the C side is checked by tests/unit/test_speech.c); district
  names as data/ gives them; month names as src/text/i18n.c has them; the number words,
  English by rule and Hindi checked against a published table (REFERENCE below).
- The WAV files: RIFF WAVE, PCM 16-bit, mono, 8000 Hz; silences exactly their length and
  all zero; no clip empty or too short for its words; no word with a nukta dropped (what
  festival's Hindi voice does); every speech clip at one active speech level.
- The library is current: scripts/make-audio --check finds nothing to make, and README's
  size figures are the library's.
"""
import csv
import math
import os
import re
import statistics
import struct
import subprocess
import sys
import unittest
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from gen_reference_sql import display_case  # noqa: E402

AUDIO = os.path.join(ROOT, "audio")
MANIFEST = os.path.join(AUDIO, "clips.tsv")
LANGS = ("en", "hi")
RATE = 8000
NUKTA = "\u093c"

PROMPTS = ["q_welcome", "q_lang", "q_remembered_a", "q_remembered_b", "q_pin", "q_choose_a",
           "q_choose_b", "q_after", "q_no_input", "q_wrong_key", "q_pin_unknown",
           "q_not_loaded", "q_sms_sent", "q_goodbye", "q_try_later"]
PARTS = ["s_families", "s_families1", "s_days_a", "s_days_b", "s_days_b1", "s_wage_a",
         "s_wage_b", "s_paid", "s_state_a", "s_state_b", "s_state_b1", "s_no_families",
         "s_no_days", "s_no_wage", "s_no_paid", "s_no_state", "s_nodata"]
SILENCES = {"sil250": 250, "sil500": 500, "sil1000": 1000}

# Hindi numbers 0-99 as published in "Hindustani numerals", Wikipedia
# (https://en.wikipedia.org/wiki/Hindustani_numerals, after Kellogg, A Grammar of the Hindi
# Language, 1876, "Numerals", pp. 94-108), in its romanisation (IAST), row by row; "/"
# separates the variants it gives. Plus the group words (same page) for 100 .. 10^7.
REFERENCE = """
śūnya/sifr/sunnā/śūn ek do tīn cār pāṅc chaḥ sāt āṭh nau
das gyārah bārah terah caudah pandrah solah satrah aṭhārah unnīs
bīs ikkīs bāīs teīs caubīs paccīs chabbīs sattāīs aṭṭhāīs untīs
tīs ikattīs battīs taiṅtīs cauṅtīs paiṅtīs chattīs saiṅtīs aṛtīs untālīs
cālīs iktālīs bayālīs taiṅtālīs cavālīs paiṅtālīs chiyālīs saiṅtālīs aṛtālīs uncās
pacās ikyāvan/ikāvan bāvan tirpan cauvan pacpan chappan sattāvan aṭṭhāvan unsaṭh
sāṭh iksaṭh bāsaṭh tirsaṭh cauṅsaṭh paiṅsaṭh chiyāsaṭh saṛsaṭh aṛsaṭh unhattar
sattar ikhattar bahattar tihattar cauhattar pac'hattar chihattar sat'hattar aṭhhattar unāsī
assī ikyāsī/ikāsī bayāsī tirāsī caurāsī pacāsī chiyāsī sattāsi aṭṭhāsī navāsī
nabbe/navve ikyānve/ikānve bānve/bayānve tirānve caurānve pacānve chiyānve sattānve aṭṭhānve ninyānve
"""
REFERENCE_GROUPS = {"hundred": "sau", "thousand": "hazār", "lakh": "lākh", "crore": "karoṛ"}

# Devanagari to IAST, enough for number words: consonants (with their nukta forms),
# independent vowels and vowel signs.
CONS = dict(zip("कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह",
                ("k kh g gh ṅ c ch j jh ñ ṭ ṭh ḍ ḍh ṇ t th d dh n p ph b bh m y r l v ś ṣ s "
                 "h").split()))
NUKTA_CONS = {"ड": "ṛ", "ढ": "ṛh", "ज": "z", "फ": "f", "क": "q", "ख": "x", "ग": "ġ"}
VOWELS = dict(zip("अआइईउऊएऐओऔऋ", "a ā i ī u ū e ai o au ṛ".split()))
SIGNS = dict(zip("ािीुूेैोौृ", "ā i ī u ū e ai o au ṛ".split()))
NASAL = {"ं": "ṁ", "ँ": "ṁ", "ः": "ḥ"}
VIRAMA = "्"


def iast(word):
    out, i = [], 0
    while i < len(word):
        c = word[i]
        if c in CONS:
            if i + 1 < len(word) and word[i + 1] == NUKTA:
                out.append(NUKTA_CONS[c])
                i += 1
            else:
                out.append(CONS[c])
            nxt = word[i + 1] if i + 1 < len(word) else ""
            if nxt == VIRAMA:
                i += 1
            elif nxt not in SIGNS:
                out.append("a")  # the inherent vowel; skeleton() drops it anyway
        elif c in VOWELS:
            out.append(VOWELS[c])
        elif c in SIGNS:
            out.append(SIGNS[c])
        elif c in NASAL:
            out.append(NASAL[c])
        else:
            raise ValueError("%r: unexpected %r" % (word, c))
        i += 1
    return "".join(out)


def skeleton(roman):
    """What a spelling and the reference's romanisation must share: the consonants, the
    long vowels and nasals, in order. Short a is dropped (Hindi drops most inherent
    vowels in speech, so romanisations differ there), length of i/u is ignored, doubled
    letters are one."""
    s = roman.lower().replace("'", "")
    s = s.replace("ai", "E").replace("au", "O").replace("ā", "A")
    s = re.sub("[ṅṁṃñṇ]", "n", s).replace("ḥ", "h").replace("ī", "i").replace("ū", "u")
    s = s.replace("a", "")
    return re.sub(r"(.)\1+", r"\1", s)


ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def english(n):
    if n < 20:
        return ONES[n]
    t, u = divmod(n, 10)
    return TENS[t] + ("-" + ONES[u] if u else "")


def read_manifest():
    with open(MANIFEST, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    assert lines[-1] == "", "the manifest ends with a newline"
    return lines[0], [line.split("\t") for line in lines[1:-1]]


def samples(path):
    with wave.open(path, "rb") as w:
        data = w.readframes(w.getnframes())
    return struct.unpack("<%dh" % (len(data) // 2), data)


def frame_powers(a, ms):
    n = RATE * ms // 1000
    return [sum(x * x for x in a[i:i + n]) / n / 32768.0 ** 2 for i in range(0, len(a) - n + 1, n)]


def active_level(a):
    """The make-audio measure: mean power of the 20 ms frames within 30 dB of the loudest."""
    p = frame_powers(a, 20)
    gate = max(p) * 10 ** -3
    act = [x for x in p if x >= gate]
    return 10 * math.log10(sum(act) / len(act))


def syllables(lang, words):
    """A rough count of the syllables the words take to say, for duration floors."""
    n = 0
    if lang == "en":
        for w in re.findall(r"[A-Za-z]+|[0-9]", words):
            if w.isdigit():
                n += 2 if w in "07" else 1
                continue
            g = len(re.findall(r"[aeiouy]+", w.lower()))
            if w.lower().endswith("e") and g > 1 and not w.lower().endswith(("le", "ee")):
                g -= 1
            n += max(1, g)
        return n
    for w in re.findall(r"[\u0900-\u097f]+|[0-9]", words):
        if w.isdigit():
            n += 1
            continue
        w = w.replace(NUKTA, "")
        k = 0
        for i, c in enumerate(w):
            if c in VOWELS:
                k += 1
            elif c in CONS:
                nxt = w[i + 1] if i + 1 < len(w) else ""
                if nxt == VIRAMA:
                    continue
                final = i == len(w) - 1 or (i == len(w) - 2 and nxt in NASAL)
                if final and nxt not in SIGNS and k > 0:
                    continue  # a final consonant is said without its vowel
                k += 1
        n += max(1, k)
    return n


class ManifestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.header, cls.rows = read_manifest()
        cls.words = {(r[1], r[0]): r[2] for r in cls.rows}
        cls.source = {(r[1], r[0]): r[3] for r in cls.rows}

    def test_format(self):
        self.assertEqual(self.header, "id\tlang\twords\tsource")
        seen = set()
        for r in self.rows:
            self.assertEqual(len(r), 4, r)
            cid, lang, words, source = r
            self.assertRegex(cid, r"^[a-z][a-z0-9_]*$")
            self.assertIn(lang, LANGS)
            self.assertNotIn((lang, cid), seen, "twice: %s/%s" % (lang, cid))
            seen.add((lang, cid))
            self.assertIn(source, ("festival", "espeak-ng", "silence", "recorded"), r)
            self.assertEqual(source == "silence", cid in SILENCES, r)
            self.assertEqual(words == "", cid in SILENCES, r)
            self.assertEqual(words, " ".join(words.split()), "spaces in %s/%s" % (lang, cid))
            if lang == "hi":
                self.assertNotRegex(words, "[A-Za-z]", "Devanagari for hi: %s" % cid)
            else:
                self.assertNotRegex(words, "[\u0900-\u097f]", "Latin for en: %s" % cid)

    def test_both_languages(self):
        ids = {lang: {c for (l, c) in self.words if l == lang} for lang in LANGS}
        self.assertEqual(ids["en"], ids["hi"])

    def test_ids(self):
        ids = {c for (_, c) in self.words}
        want = {"n%d" % k for k in range(100)} | {"hundred", "thousand", "lakh", "crore"}
        want |= {"m%d" % k for k in range(1, 13)} | set(SILENCES) | set(PROMPTS) | set(PARTS)
        with open(os.path.join(ROOT, "data", "reference", "mp_nrega_lgd.csv")) as f:
            want |= {"d" + r["nrega_district_code"] for r in csv.DictReader(f)}
        self.assertEqual(ids, want)
        self.assertEqual(len(self.rows), 2 * len(want))

    def test_districts(self):
        d = os.path.join(ROOT, "data")
        with open(os.path.join(d, "lgd_districts.csv"), encoding="utf-8") as f:
            lgd = {r["District Code"]: r["District Name"] for r in csv.DictReader(f)}
        with open(os.path.join(d, "reference", "districts_hi.csv"), encoding="utf-8") as f:
            hi = {r["lgd_district_code"]: r["name_hi"] for r in csv.DictReader(f)}
        with open(os.path.join(d, "reference", "mp_nrega_lgd.csv"), encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 51)
        for r in rows:
            cid, code = "d" + r["nrega_district_code"], r["lgd_district_code"]
            self.assertEqual(self.words[("en", cid)], display_case(lgd[code]), cid)
            self.assertEqual(self.words[("hi", cid)], hi[code], cid)
        self.assertEqual(self.words[("en", "d1752")], "Niwari")
        self.assertEqual(self.words[("en", "d1732")], "Narmadapuram")

    def test_months(self):
        with open(os.path.join(ROOT, "src", "text", "i18n.c"), encoding="utf-8") as f:
            src = f.read()
        m = re.search(r"months_hi\[12\] = \{([^}]*)\}", src)
        hi = re.findall(r'"([^"]+)"', m.group(1))
        en = ("January February March April May June July August September October November "
              "December").split()
        for k in range(12):
            self.assertEqual(self.words[("en", "m%d" % (k + 1))], en[k])
            self.assertEqual(self.words[("hi", "m%d" % (k + 1))], hi[k])

    def test_english_numbers(self):
        for k in range(100):
            self.assertEqual(self.words[("en", "n%d" % k)], english(k))
        for g in ("hundred", "thousand", "lakh", "crore"):
            self.assertEqual(self.words[("en", g)], g)

    def test_hindi_numbers_against_reference(self):
        ref = REFERENCE.split()
        self.assertEqual(len(ref), 100)
        for k in range(100):
            word = self.words[("hi", "n%d" % k)]
            self.assertNotIn(" ", word)
            variants = [skeleton(v) for v in ref[k].split("/")]
            self.assertIn(skeleton(iast(word)), variants,
                          "n%d %s (%s) is not %s" % (k, word, iast(word), ref[k]))
        for g, roman in REFERENCE_GROUPS.items():
            self.assertEqual(skeleton(iast(self.words[("hi", g)])), skeleton(roman), g)
        # the forms the project settled on where the reference allows more than one
        self.assertEqual(self.words[("hi", "n99")], "निन्यानवे")
        self.assertEqual(self.words[("hi", "n45")], "पैंतालीस")
        self.assertEqual(self.words[("hi", "n71")], "इकहत्तर")

    def test_hindi_number_rules(self):
        """The patterns of the reference's table: each decade's numbers share its ending
        (-ईस, -तीस, -लीस, -वन/-पन, -सठ, -हत्तर, -सी, -नवे) and 19 .. 79 are formed from
        the next ten with उन- ("one less"; 89 and 99 are नवासी and निन्यानवे)."""
        hi = [self.words[("hi", "n%d" % k)] for k in range(100)]
        ends = {2: ("ीस", "ईस"), 3: ("तीस",), 4: ("लीस",), 5: ("वन", "पन"), 6: ("सठ",),
                7: ("हत्तर",), 8: ("सी",), 9: ("नवे",)}
        for t, suffixes in ends.items():
            for u in range(1, 9):
                self.assertTrue(hi[10 * t + u].endswith(suffixes), hi[10 * t + u])
        for t in range(1, 8):
            self.assertTrue(hi[10 * t + 9].startswith("उन"), hi[10 * t + 9])


class ClipTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _, cls.rows = read_manifest()
        cls.clips = {}
        for cid, lang, words, source in cls.rows:
            path = os.path.join(AUDIO, lang, cid + ".wav")
            cls.clips[(lang, cid)] = (path, words, source)

    def test_format(self):
        for (lang, cid), (path, _, _) in self.clips.items():
            self.assertTrue(os.path.exists(path), path)
            with open(path, "rb") as f:
                head = f.read(36)
            self.assertEqual(head[0:4], b"RIFF", path)
            self.assertEqual(head[8:12], b"WAVE", path)
            self.assertEqual(head[12:16], b"fmt ", path)
            self.assertEqual(struct.unpack("<H", head[20:22])[0], 1, "PCM: " + path)
            with wave.open(path, "rb") as w:
                self.assertEqual(w.getnchannels(), 1, path)
                self.assertEqual(w.getsampwidth(), 2, path)
                self.assertEqual(w.getframerate(), RATE, path)
                self.assertEqual(w.getcomptype(), "NONE", path)

    def test_no_stray_files(self):
        for lang in LANGS:
            names = {n for n in os.listdir(os.path.join(AUDIO, lang)) if not n.startswith(".")}
            self.assertEqual(names, {c + ".wav" for (l, c) in self.clips if l == lang})

    def test_silences(self):
        for lang in LANGS:
            for cid, ms in SILENCES.items():
                a = samples(self.clips[(lang, cid)][0])
                self.assertEqual(len(a), RATE * ms // 1000, cid)
                self.assertFalse(any(a), "%s/%s is not digital silence" % (lang, cid))

    def speech(self, lang):
        """(id, words, seconds, samples) of lang's speech clips."""
        out = []
        for (l, cid), (path, words, source) in sorted(self.clips.items()):
            if l == lang and source != "silence":
                a = samples(path)
                out.append((cid, words, len(a) / RATE, a))
        return out

    def test_durations(self):
        """No clip is empty or too short for its words: at least 40% of the time its
        syllables take at the library's median pace, and 0.25 s; none three times too long
        (untrimmed silence, a runaway synthesis)."""
        for lang in LANGS:
            clips = self.speech(lang)
            pace = statistics.median(s / syllables(lang, w) for _, w, s, _ in clips)
            for cid, words, secs, _ in clips:
                want = pace * syllables(lang, words)
                self.assertGreaterEqual(secs, max(0.25, 0.4 * want),
                                        "%s/%s: %.2f s for %r" % (lang, cid, secs, words))
                self.assertLessEqual(secs, 3 * want + 0.5, "%s/%s: %.2f s" % (lang, cid, secs))

    def test_nukta_words_said(self):
        """festival's Hindi voice drops every word with a nukta (हज़ार, करोड़, निवाड़ी): a clip
        with one must last at least 65% of what its words would take without the nukta at
        the library's median pace, so a dropped word shows."""
        clips = self.speech("hi")
        plain = [(w, s) for _, w, s, _ in clips if NUKTA not in w]
        pace = statistics.median(s / syllables("hi", w) for w, s in plain)
        checked = 0
        for cid, words, secs, _ in clips:
            if NUKTA not in words:
                continue
            checked += 1
            want = pace * syllables("hi", words.replace(NUKTA, ""))
            self.assertGreaterEqual(secs, 0.65 * want, "hi/%s: %.2f s for %r, a word dropped?"
                                    % (cid, secs, words))
        self.assertGreaterEqual(checked, 15)
        for cid in ("thousand", "crore", "d1752", "d1736", "n38"):
            self.assertIn(NUKTA, self.clips[("hi", cid)][1], cid)

    def test_levels(self):
        """Clips join without jumps: every speech clip's active level within 1 dB of
        -20 dBFS (a little lower only where a peak was held at -1 dBFS), no peak above
        -1 dBFS, and the trimmed edges start and end in digital silence."""
        for lang in LANGS:
            for cid, _, _, a in self.speech(lang):
                level = active_level(a)
                peak = 20 * math.log10(max(abs(x) for x in a) / 32768.0)
                self.assertLessEqual(abs(level + 20), 1.0, "%s/%s: %.2f dB" % (lang, cid, level))
                self.assertLessEqual(peak, -0.99, "%s/%s: peak %.2f dB" % (lang, cid, peak))
                self.assertGreaterEqual(peak, -12.0, "%s/%s: peak %.2f dB" % (lang, cid, peak))
                self.assertFalse(any(a[:80]) or any(a[-80:]), "%s/%s: edges" % (lang, cid))


class LibraryTest(unittest.TestCase):
    def test_current(self):
        """Nothing to make: every clip is what the manifest and clips.sum say."""
        p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make-audio"), "--check"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_readme_size(self):
        _, rows = read_manifest()
        nbytes = secs = 0
        for cid, lang, _, _ in rows:
            path = os.path.join(AUDIO, lang, cid + ".wav")
            nbytes += os.path.getsize(path)
            with wave.open(path, "rb") as w:
                secs += w.getnframes() / w.getframerate()
        with open(os.path.join(AUDIO, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        want = "%d files (%d per language), %s bytes, %.0f seconds" % (
            len(rows), len(rows) // 2, format(nbytes, ","), secs)
        self.assertIn(want, readme, "update the size in audio/README.md")


if __name__ == "__main__":
    unittest.main()
