// tierfs / mount.tierfs entry point.
#include "fusefs/cli/cli.h"

int main(int argc, char** argv) { return tierfs::RunCli(argc, argv); }
