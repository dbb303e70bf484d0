/*
 * The inside of the decision logic, shared by its files only:
 * decide.c (init, dispatch, commands, ticks), service.c (a service's
 * lifecycle), strategy.c (a supervisor's: start order, stop order,
 * strategies, intensity, giving up), window.c and backoff.c.
 * Nothing outside supervisor/decide*, service.c, strategy.c includes this.
 */
#ifndef VESTA_SUP_DECIDE_IMPL_H
#define VESTA_SUP_DECIDE_IMPL_H

#include "decide.h"

/* One step in progress: where its actions go and what time it is. */
struct sup_run {
	struct sup_tree *t;
	struct sup_action *out;
	size_t n, cap;
	uint64_t now;
};

static inline struct sup_node *sup_kid(struct sup_run *r, struct sup_node *s, uint16_t i)
{
	return &r->t->node[r->t->kids[s->kid0 + i]];
}

static inline uint16_t sup_idx(struct sup_run *r, const struct sup_node *c)
{
	return (uint16_t)(c - r->t->node);
}

static inline struct sup_node *sup_parent(struct sup_run *r, struct sup_node *c)
{
	return c->parent == SUP_NO_NODE ? NULL : &r->t->node[c->parent];
}

static inline bool sup_is_svc(const struct sup_node *c)
{
	return c->spec.kind == SUP_SERVICE;
}

/* decide.c: append an action (counted in t->dropped if there is no room,
 * which SUP_STEP_MAX rules out). */
void sup_emit(struct sup_run *r, struct sup_action a);
void sup_log(struct sup_run *r, struct sup_node *c, enum sup_log_kind log);

/* window.c: drop timestamps more than period before now, append now
 * (dropping the oldest if full) and return how many remain. */
uint32_t sup_window_add(struct sup_window *w, uint64_t now, uint64_t period);
void sup_window_clear(struct sup_window *w);

/* backoff.c: the delay before restarting service c that went down at now,
 * given the period of its supervisor; advances c's backoff level. */
uint64_t sup_backoff_next(struct sup_node *c, uint64_t period, uint64_t now);

/* service.c: a service's transitions. */
bool sup_svc_start(struct sup_run *r, struct sup_node *c); /* always false */
bool sup_svc_stop(struct sup_run *r, struct sup_node *c);  /* true: down now */
void sup_svc_timer(struct sup_run *r, struct sup_node *c);
int sup_svc_started(struct sup_run *r, struct sup_node *c, int32_t pid);
int sup_svc_start_failed(struct sup_run *r, struct sup_node *c);
int sup_svc_start_ignored(struct sup_run *r, struct sup_node *c);
int sup_svc_ready(struct sup_run *r, struct sup_node *c, int32_t pid);
int sup_svc_heartbeat(struct sup_run *r, struct sup_node *c, int32_t pid);
int sup_svc_exited(struct sup_run *r, struct sup_node *c, int32_t pid, enum sup_exit why);
void sup_svc_adopt(struct sup_run *r, struct sup_node *c, int32_t pid, bool ready);

/* strategy.c: a supervisor's transitions and the node-generic helpers. */
bool sup_node_down(const struct sup_node *c);
bool sup_node_ready(const struct sup_node *c);
bool sup_node_start(struct sup_run *r, struct sup_node *c); /* true: ready now */
bool sup_node_stop(struct sup_run *r, struct sup_node *c);  /* true: down now */
void sup_child_ready(struct sup_run *r, struct sup_node *c);
void sup_child_down(struct sup_run *r, struct sup_node *c, enum sup_exit why, bool by_itself);
void sup_drive(struct sup_run *r, struct sup_node *s);
void sup_bring_back(struct sup_run *r, struct sup_node *s, struct sup_node *c);
void sup_sup_timer(struct sup_run *r, struct sup_node *s);
void sup_sup_adopt(struct sup_run *r, struct sup_node *s);
bool sup_exit_is_normal(enum sup_exit e);

#endif
