/*
 * Connection and server commands: PING, ECHO, QUIT, HELLO, CLIENT, INFO,
 * DBSIZE, CONFIG, TIME, SELECT, FLUSHDB, FLUSHALL, with Redis 7.0's
 * replies and error texts.
 */
#include "resp.h"

#include "string.h"

static void cmd_ping(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	if (argc > 2) {
		rs_reply_error(x->c, "ERR wrong number of arguments for 'ping' command");
		return;
	}
	if (argc == 2)
		rs_reply_bulk(x->c, argv[1].p, argv[1].len);
	else
		rs_reply_simple(x->c, "PONG");
}

static void cmd_echo(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	rs_reply_bulk(x->c, argv[1].p, argv[1].len);
}

static void cmd_quit(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	(void)argv;
	rs_reply_ok(x->c);
	x->c->close_after_reply = true;
}

#define CONN (RS_CMD_FAST | RS_CMD_LOADING | RS_CMD_STALE)

const struct rs_cmd rs_cmds_server[] = {
	{ "ping", -1, CONN, 0, 0, 0, "connection", "Ping the server", "1.0.0", cmd_ping },
	{ "echo", 2, CONN, 0, 0, 0, "connection", "Echo the given string", "1.0.0", cmd_echo },
	{ "quit", -1, CONN | RS_CMD_NOSCRIPT, 0, 0, 0, "connection", "Close the connection",
	  "1.0.0", cmd_quit },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
