/*
 * cli/commands.h — the subcommands of `mallet`. Each returns the process
 * exit status: 0 success, 1 a check or run failed, 2 bad usage.
 */
#ifndef MALLET_CLI_COMMANDS_H
#define MALLET_CLI_COMMANDS_H

typedef struct mallet_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} mallet_command_t;

int mallet_cmd_list(int argc, char **argv);
int mallet_cmd_bench(int argc, char **argv);
int mallet_cmd_record(int argc, char **argv);
int mallet_cmd_replay(int argc, char **argv);
int mallet_cmd_compare(int argc, char **argv);
int mallet_cmd_stress(int argc, char **argv);
int mallet_cmd_security(int argc, char **argv);
int mallet_cmd_fuzz(int argc, char **argv);

/* If this process is a benchmark run's exec'd child (run_child.c), runs
 * it and exits; otherwise returns. */
void mallet_cli_run_child(int argc, char **argv);

/* Prints "mallet: <msg>" and the subcommand's usage hint to stderr; returns 2. */
int mallet_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
