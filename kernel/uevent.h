/*
 * event(): user processes' lines on the event log (uevent.c), built by the
 * kernel from checked keys and values.
 */
#ifndef VESTA_UEVENT_H
#define VESTA_UEVENT_H

#include <stdint.h>

struct proc;

/* event(ev, kv, n) for p. Errors: -VE_INVAL (bad or reserved event name,
 * bad key, "pid" as a key), -VE_RANGE (n or a string too long), -VE_FAULT.
 * Nothing is written unless everything checks. */
long uevent_post(struct proc *p, uint64_t uev, uint64_t ukv, uint64_t n);

#endif
