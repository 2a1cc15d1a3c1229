/* serve_cmd.h - `ferry-load serve`: options in, serve_run out. */
#ifndef FERRY_SERVE_CMD_H
#define FERRY_SERVE_CMD_H

/* argv[0] is "serve". Returns the exit code. */
int cmd_serve(int argc, char **argv);

#endif
