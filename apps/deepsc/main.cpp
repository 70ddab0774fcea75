// deepsc: the command-line tool. Every subcommand lives in its own cmd_*.cpp; see cli.h.
#include "cli.h"

#include <iostream>

int main(int argc, char** argv) { return deepsc::cli::run(argc, argv, std::cout, std::cerr); }
