/*
 * common/json_out.h — writing JSON strings. Notes, error messages and
 * command lines end up in result files and may hold any byte; one escaper
 * keeps every writer's output parseable.
 */
#ifndef MALLET_HARNESS_JSON_OUT_H
#define MALLET_HARNESS_JSON_OUT_H

#include <stdio.h>

/* Writes s as a quoted JSON string: '"' and '\' escaped, control bytes as
 * \u00XX. Bytes >= 0x80 pass through (results are UTF-8 or ASCII). */
void mallet_json_str(FILE *f, const char *s);

#endif
