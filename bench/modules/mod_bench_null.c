/*
 * mod_bench_null: the floor for "an Apache module's handler writes the
 * response" -- no file system, no interpreter.  Benchmark configs `a0`, `a0m`.
 *
 * It does what bench/apps/hello_modpython.py does, in C: content type
 * text/plain, a Content-Length, the 14 bytes "Hello, world!\n", OK.
 *
 *   LoadModule bench_null_module .../mod_bench_null.so
 *   <Location /hello>
 *       SetHandler bench-null
 *   </Location>
 *
 * Variants, for attribution (config `a0m`):
 *   SetHandler bench-null-flush   also flushes (ap_rflush) before returning, as
 *                                 mod_python's req.write() does by default;
 *   BenchNullSkipWalk On          (in the <Location>) a map_to_storage hook
 *                                 answers OK, so core skips the directory walk
 *                                 (the stat() calls for a URI that is no file),
 *                                 as mod_python does for <Location> handlers.
 *
 * bench/bench.py compiles it at run time with `apxs -c` (apache2-dev).
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"

module AP_MODULE_DECLARE_DATA bench_null_module;

static const char hello[] = "Hello, world!\n";

typedef struct {
    int skip_walk;      /* -1 unset, 0 off, 1 on */
} bench_null_dir_conf;

static void *bench_null_create_dir(apr_pool_t *p, char *dir)
{
    bench_null_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)dir;
    c->skip_walk = -1;
    return c;
}

static void *bench_null_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    bench_null_dir_conf *base = basev, *add = addv;
    bench_null_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    c->skip_walk = add->skip_walk != -1 ? add->skip_walk : base->skip_walk;
    return c;
}

static const char *bench_null_set_skip_walk(cmd_parms *cmd, void *dirconf, int on)
{
    (void)cmd;
    ((bench_null_dir_conf *)dirconf)->skip_walk = on ? 1 : 0;
    return NULL;
}

static const command_rec bench_null_cmds[] = {
    AP_INIT_FLAG("BenchNullSkipWalk", bench_null_set_skip_walk, NULL, ACCESS_CONF,
                 "On: skip core's directory walk for this <Location>"),
    {NULL}
};

static int bench_null_map_to_storage(request_rec *r)
{
    const bench_null_dir_conf *c;

    if (ap_location_walk(r) != OK)
        return DECLINED;
    c = ap_get_module_config(r->per_dir_config, &bench_null_module);
    return (c != NULL && c->skip_walk == 1) ? OK : DECLINED;
}

static int bench_null_handler(request_rec *r)
{
    int flush;

    if (r->handler == NULL)
        return DECLINED;
    if (strcmp(r->handler, "bench-null") == 0)
        flush = 0;
    else if (strcmp(r->handler, "bench-null-flush") == 0)
        flush = 1;
    else
        return DECLINED;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    ap_set_content_type(r, "text/plain");
    ap_set_content_length(r, (apr_off_t)(sizeof(hello) - 1));
    if (!r->header_only)
        ap_rwrite(hello, (int)(sizeof(hello) - 1), r);
    if (flush)
        ap_rflush(r);
    return OK;
}

static void bench_null_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_map_to_storage(bench_null_map_to_storage, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(bench_null_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA bench_null_module = {
    STANDARD20_MODULE_STUFF,
    bench_null_create_dir,
    bench_null_merge_dir,
    NULL,               /* per-server config create */
    NULL,               /* per-server config merge */
    bench_null_cmds,
    bench_null_hooks
};
