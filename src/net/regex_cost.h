/*
 * How many parts a regex grows to once glibc's regcomp() has copied out every bounded
 * repetition: `(a{200}){200}{200}` is 8 million, which regcomp() tries to build in memory.
 * kore.conf's parser refuses a validator or route regex past REGEX_PARTS_MAX before
 * handing it to regcomp(). The count is an upper bound: brackets, classes and escapes are
 * one part, `*`, `+` and `?` count twice; it stops counting past the limit.
 */
#ifndef HISAAB_REGEX_COST_H
#define HISAAB_REGEX_COST_H

#define REGEX_PARTS_MAX 4096

/* 1 when the POSIX extended regex re expands past REGEX_PARTS_MAX parts (or nests
 * groups deeper than 64), else 0. */
int regex_cost_too_big(const char *re);

#endif
