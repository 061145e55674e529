/*
 * Command parsing of one inbound SMS text: what the person asked for, the argument, and
 * which script they wrote in (for the default reply language). Pure: no I/O, no
 * allocation; the argument is a slice into the input. District matching is not done
 * here: the query text is handed to the district search module.
 *
 * Rules implemented:
 *  - Words are split at ASCII whitespace and no-break spaces; leading and trailing
 *    punctuation of each word (ASCII . , ! ? ; : ' " ( ) [ ] < > * - _ / and the Devanagari
 *    danda and double danda) is ignored. Latin words compare ignoring ASCII case;
 *    Devanagari words compare ignoring ZWJ/ZWNJ and nukta (also precomposed nukta
 *    letters), so "अंग्रेज़ी" = "अंग्रेजी".
 *  - The keywords NREGA, MGNREGA, MNREGA, NAREGA, नरेगा, मनरेगा are dropped at the start and
 *    end of the text before anything else is decided.
 *  - STOP wins over everything: any word STOP, UNSUBSCRIBE, UNSUB, रोकें, रोके, रोको, बंद,
 *    बन्द anywhere in the text ("stop", "Stop.", "STOP ", "please stop", "बंद करो").
 *  - HELP: first word HELP, मदद, सहायता.
 *  - Language: the whole text is HINDI, हिंदी, हिन्दी (Hindi) or ENGLISH, अंग्रेजी, इंग्लिश
 *    (English).
 *  - SUB: first word SUB, SUBSCRIBE; the rest (keywords dropped) is the district, which
 *    may be empty.
 *  - Anything else is a district query: the text from the first to the last remaining
 *    word, outer punctuation removed ("NREGA Niwari." -> "Niwari"); a text with no word
 *    left is SMSCMD_EMPTY.
 *  - Script: of the argument (the district the person typed) if it has letters, else of
 *    the whole text (keywords are often copied from a poster): Devanagari if it has
 *    Devanagari letters and at least as many as Latin letters, Latin if it has Latin
 *    letters, otherwise none (digits only, e.g. a district code), and then the caller
 *    keeps the number's stored language or its default.
 */
#ifndef HISAAB_SMSCMD_H
#define HISAAB_SMSCMD_H

#include <stddef.h>

#include "core/buf.h"

enum smscmd_kind {
    SMSCMD_EMPTY = 0, /* nothing usable: reply with the "what to send" text */
    SMSCMD_HELP,
    SMSCMD_LANG_HI,
    SMSCMD_LANG_EN,
    SMSCMD_SUB, /* arg: the district (may be empty) */
    SMSCMD_STOP,
    SMSCMD_QUERY /* arg: the district query text */
};

enum smscmd_script { SMSCMD_SCRIPT_NONE = 0, SMSCMD_SCRIPT_LATIN, SMSCMD_SCRIPT_DEVANAGARI };

struct smscmd {
    enum smscmd_kind kind;
    struct slice arg; /* borrowed from the input; {NULL, 0} when there is none */
    enum smscmd_script script;
};

/*
 * Parse `len` bytes of UTF-8 at `text` into *out (arg points into text). Returns 0, or -1
 * if the text is not valid UTF-8 (then *out is SMSCMD_EMPTY, script none).
 */
int smscmd_parse(const char *text, size_t len, struct smscmd *out) WUR;

/* A short ASCII name of a kind ("help", "query", ...), for logs and statistics. */
const char *smscmd_kind_name(enum smscmd_kind kind);

#endif
