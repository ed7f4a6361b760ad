/*
 * fuzz/afl_driver.c — AFL++ persistent-mode driver for a libFuzzer-style
 * target. Built with afl-clang-fast: deferred fork server (__AFL_INIT after
 * start-up, so the registry and peer libraries are loaded once), test cases
 * delivered in shared memory (__AFL_FUZZ_TESTCASE_BUF), 10000 inputs per
 * fork. With file arguments it just runs those files (reproduction);
 * outside afl-fuzz the macros fall back to reading stdin.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

__AFL_FUZZ_INIT();

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    return 0;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1 && strcmp(argv[1], "-") != 0) {
        int rc = 0;
        for (int i = 1; i < argc; i++)
            rc |= run_file(argv[i]);
        return rc;
    }
    /* Warm up before the fork server: registry, peer dlopen, TLS. */
    static const uint8_t warm[1] = {0};
    LLVMFuzzerTestOneInput(warm, 0);
    __AFL_INIT();
    uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000)) {
        int len = __AFL_FUZZ_TESTCASE_LEN;
        LLVMFuzzerTestOneInput(buf, (size_t)len);
    }
    return 0;
}
