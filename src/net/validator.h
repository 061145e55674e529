/*
 * Function validators named in kore.conf (`validator NAME function FUNC`). Each takes a
 * decoded parameter value and returns 1 if it is acceptable, 0 if not.
 */
#ifndef HISAAB_VALIDATOR_H
#define HISAAB_VALIDATOR_H

typedef int (*validator_fn)(const char *value);

/* The function registered under `name`, or NULL. */
validator_fn validator_lookup(const char *name);

#endif
