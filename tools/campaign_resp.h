/*
 * The campaign's --resp mode, the process side: tools/respcheck runs
 * beside the guest for the whole campaign, its clients on the guest's
 * Redis port (or on any server, for testing the tool with a host
 * redis-server), and is stopped and read at the end. What its output
 * means for the record is campaign.h's camp_resp_* (campaign_resp.c).
 */
#ifndef VESTA_TOOLS_CAMPAIGN_RESP_H
#define VESTA_TOOLS_CAMPAIGN_RESP_H

#include <sys/types.h>

#include "campaign.h"

/* Start BIN (respcheck) on HOST:PORT, its output and incident log in DIR.
 * Its pid, or -1 with a message on stderr. */
pid_t camp_resp_start(const char *bin, const char *host, int port, const char *dir);

/* Start BIN (tools/tcprelay) in front of 127.0.0.1:TARGET, on a free port
 * written to *port once it listens (QEMU's forwarded port has a backlog of
 * 1: respcheck's clients reconnecting all at once would wait out SYN
 * retransmissions). Its pid, or -1 with a message on stderr. */
pid_t camp_relay_start(const char *bin, int target, int *port);

/* Stop the relay (0 or -1: nothing to stop). */
void camp_relay_stop(pid_t pid);

/* Stop it (SIGTERM: it drains, reads every key back and reports), wait a
 * bounded time, and read its summary and incidents into r. */
void camp_resp_stop(pid_t pid, struct camp_record *r, const char *dir);

#endif
