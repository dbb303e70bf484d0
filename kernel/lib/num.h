/*
 * Parsing an unsigned number from exactly n bytes (no sign, no spaces):
 * decimal, or hexadecimal after 0x when hex_ok. One parser for the
 * languages people write (the policy files, the boot manifest).
 * Freestanding.
 */
#ifndef VESTA_LIB_NUM_H
#define VESTA_LIB_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of s[0..n) if it is a whole number no larger than max; false
 * for anything else (empty, a stray byte, too large), *out untouched. */
bool num_parse(const char *s, size_t n, bool hex_ok, uint64_t max, uint64_t *out);
/* The same for bare hexadecimal digits (no 0x), as in a PCI vendor:device. */
bool num_parse_hex(const char *s, size_t n, uint64_t max, uint64_t *out);

#endif
