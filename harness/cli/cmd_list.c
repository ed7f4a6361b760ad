/*
 * cli/cmd_list.c — `mallet list [--json] [--ids]`: every backend mallet
 * knows, whether this build has it, whether it can run here (peers need
 * their library installed), its version and its capability flags.
 * A missing peer is printed, never hidden.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/backend_select.h"
#include "common/json_out.h"
#include "mallet/mallet.h"


int mallet_cmd_list(int argc, char **argv)
{
    bool json = false, ids = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--ids") == 0)
            ids = true;
        else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: mallet list [--json] [--ids]\n"
                   "  Lists every backend with its status, version and capabilities.\n"
                   "  --ids   print only the IDs of backends usable here, one per line\n"
                   "  --json  machine-readable output\n");
            return 0;
        } else
            return mallet_usage_error("list", "unknown option '%s'", argv[i]);
    }
#ifdef MALLET_SEEDED_BUG
    /* cmake/MalletSeededBug.cmake: never mistake this binary for a real one */
    fprintf(stderr, "mallet: WARNING: built with seeded bug '%s': a backend is broken on purpose\n",
            MALLET_SEEDED_BUG);
    if (!json && !ids)
        printf("*** SEEDED BUG '%s' compiled in: a backend is broken on purpose (fuzzer demo) ***\n",
               MALLET_SEEDED_BUG);
#endif
    if (json)
        printf("[\n");
    mallet_backend_selection_t all;
    char err[512];
    if (mallet_backend_select("all", &all, err, sizeof err) != 0)
        return mallet_usage_error("list", "%s", err);
    for (size_t i = 0; i < all.n; i++) {
        const char *id = all.id[i];
        const mallet_backend_t *b = mallet_backend_find(id);
        char why[256] = "", caps[512] = "";
        const char *status = "ok";
        if (b == NULL) {
            status = "not built";
            snprintf(why, sizeof why, "this build does not include the %s backend", id);
        } else if (b->available(why, sizeof why) != 0) {
            status = "not installed";
        }
        if (b)
            mallet_caps_format(b->caps, caps, sizeof caps);
        const char *version = (b && strcmp(status, "ok") == 0) ? b->version() : "-";
        if (ids) {
            if (strcmp(status, "ok") == 0)
                printf("%s\n", id);
        } else if (json) {
            printf("  {\"id\": ");
            mallet_json_str(stdout, id);
            printf(", \"status\": \"%s\", \"peer\": %s, \"version\": ", status, b && b->is_peer ? "true" : "false");
            mallet_json_str(stdout, version);
            printf(", \"description\": ");
            mallet_json_str(stdout, b ? b->description : "");
            printf(", \"capabilities\": ");
            mallet_json_str(stdout, caps);
            printf(", \"note\": ");
            mallet_json_str(stdout, why);
            printf("}%s\n", i + 1 < all.n ? "," : "");
        } else {
            printf("%-9s %-14s %-22s %s\n", id, status, version, b ? b->description : "");
            if (b)
                printf("%-9s caps: %s\n", "", caps);
            if (why[0])
                printf("%-9s !!! %s\n", "", why);
        }
    }
    if (json)
        printf("]\n");
    return 0;
}
