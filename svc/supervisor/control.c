/*
 * The channel "sup", which the supervisor serves. Two kinds of message:
 *
 *   a cast whose first byte is 'H' (SUP_HEARTBEAT_BYTE): a heartbeat from
 *     the sender's process; a service with `heartbeat` in its policy sends
 *     one more often than that (the supervisor lets it open "sup");
 *   a call with a text command, answered with text:
 *     tree            one line per node: kind, state, pid, restarts, last exit
 *     stop NAME       stop it and keep it down (even a permanent one)
 *     start NAME      start a stopped node again
 *     restart NAME    stop it and start it again (no strategy, no intensity)
 *     kill NAME       kill the service's process: an abnormal exit ("killed"),
 *                     restarted under its policy
 *   An answer starts with "ok" or is the tree; a refusal with "error: ".
 */
#include "supd.h"

/* A reply under construction; cut at VE_MSG_MAX. */
struct reply {
	char buf[VE_MSG_MAX];
	size_t len;
};

static void say(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len +=
		    (size_t)n < sizeof(r->buf) - r->len ? (size_t)n : sizeof(r->buf) - r->len - 1;
}

static void tree_line(struct supd *d, struct reply *r, uint16_t i)
{
	const struct sup_node *n = &d->tree.node[i];

	say(r, "%*s%s %s %s", 2 * n->depth, "", d->plan.node[i].name,
	    n->spec.kind == SUP_SERVICE ? "service" : "supervisor", supd_state_name(n));
	if (n->spec.kind == SUP_SERVICE && n->pid > 0)
		say(r, " pid=%d", (int)n->pid);
	say(r, " restarts=%u", (unsigned)n->restarts);
	if (n->want == SUP_WANT_DOWN)
		say(r, " held_down");
	if (d->exited[i])
		say(r, " last_exit=%s(%s)", sup_exit_name(n->last_exit),
		    ve_reason_name(d->last_reason[i]));
	else
		say(r, " last_exit=-");
	say(r, "\n");
}

/* Depth first from node i, children in start order. */
static void tree_walk(struct supd *d, struct reply *r, uint16_t i)
{
	const struct sup_node *n = &d->tree.node[i];

	tree_line(d, r, i);
	for (uint16_t k = 0; k < n->nkids; k++)
		tree_walk(d, r, d->tree.kids[n->kid0 + k]);
}

static const char *refusal(int err)
{
	switch (err) {
	case -VE_BUSY:
		return "busy: it is running, or its supervisor is restarting or stopping children";
	case -VE_INVAL:
		return "not in its state (already stopped?)";
	case -VE_NOENT:
		return "stale";
	default:
		return ve_strerror(err);
	}
}

static void cmd_kill(struct supd *d, struct reply *r, uint16_t node)
{
	const struct sup_node *n = &d->tree.node[node];
	int err;

	if (n->spec.kind != SUP_SERVICE || n->pid <= 0) {
		say(r, "error: %s has no process to kill\n", d->plan.node[node].name);
		return;
	}
	err = ve_kill(n->pid);
	if (err < 0)
		say(r, "error: kill %s (pid %d): %s\n", d->plan.node[node].name, (int)n->pid,
		    ve_strerror(err));
	else
		say(r, "ok: killed %s (pid %d)\n", d->plan.node[node].name, (int)n->pid);
}

/* A command that names a node: stop, start, restart, kill. */
static void cmd_node(struct supd *d, struct reply *r, const char *verb, const char *arg)
{
	static const struct {
		const char *verb;
		uint32_t kind;
	} evs[] = {
		{ "stop", SUP_EV_CMD_STOP },
		{ "start", SUP_EV_CMD_START },
		{ "restart", SUP_EV_CMD_RESTART },
	};
	char name[POL_NAME_MAX];
	size_t n = ve_word_len(arg);
	uint16_t node;
	int err;

	if (n == 0 || n >= sizeof(name) || *ve_skip_space(arg + n)) {
		say(r, "error: usage: %s NAME\n", verb);
		return;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	node = sup_plan_find(&d->plan, name);
	if (node == SUP_NO_NODE) {
		say(r, "error: no service or supervisor named '%s'\n", name);
		return;
	}
	if (strcmp(verb, "kill") == 0) {
		cmd_kill(d, r, node);
		return;
	}
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (strcmp(verb, evs[i].verb) != 0)
			continue;
		err = supd_feed(d, (struct sup_event){ .kind = evs[i].kind, .node = node });
		if (err < 0)
			say(r, "error: cannot %s %s: %s\n", verb, name, refusal(err));
		else
			say(r, "ok: %s %s\n", verb, name);
	}
}

static void command(struct supd *d, struct reply *r, char *text)
{
	const char *p = ve_skip_space(text), *arg;
	char verb[16];
	size_t n;

	/* A console line may end in CR or LF: they end the command. */
	for (char *c = text; *c; c++)
		if (*c == '\r' || *c == '\n')
			*c = '\0';
	n = ve_word_len(p);
	arg = ve_skip_space(p + n);
	if (n == 0 || n >= sizeof(verb)) {
		say(r, "error: commands: tree, stop NAME, start NAME, restart NAME, kill NAME\n");
		return;
	}
	memcpy(verb, p, n);
	verb[n] = '\0';
	if (strcmp(verb, "tree") == 0 && *arg == '\0')
		tree_walk(d, r, 0);
	else if (strcmp(verb, "stop") == 0 || strcmp(verb, "start") == 0 ||
		 strcmp(verb, "restart") == 0 || strcmp(verb, "kill") == 0)
		cmd_node(d, r, verb, arg);
	else
		say(r, "error: unknown command '%s' (tree, stop, start, restart, kill)\n", verb);
}

static void heartbeat(struct supd *d, int32_t sender)
{
	uint16_t node = sup_node_of_pid(&d->tree, sender);

	/* A beat from a process that is no service of the tree (or a stale
	 * one) means nothing; the machine would refuse it anyway. */
	if (node != SUP_NO_NODE)
		supd_feed(
		    d, (struct sup_event){ .kind = SUP_EV_HEARTBEAT, .node = node, .pid = sender });
}

void supd_serve(struct supd *d)
{
	static char msg[VE_MSG_MAX + 1];
	static struct reply r;
	struct ve_msg m;
	long len;

	while ((len = ve_chan_recv(d->handle, &m, msg, VE_MSG_MAX)) >= 0) {
		msg[len] = '\0';
		if (len > 0 && msg[0] == SUP_HEARTBEAT_BYTE)
			heartbeat(d, m.sender);
		if (m.kind == VE_MSG_CAST) {
			ve_chan_ack(d->handle, m.id);
			continue;
		}
		r.len = 0;
		r.buf[0] = '\0';
		if (len > 0 && msg[0] == SUP_HEARTBEAT_BYTE)
			say(&r, "ok\n");
		else
			command(d, &r, msg);
		ve_chan_reply(d->handle, m.id, r.buf, r.len);
	}
}
