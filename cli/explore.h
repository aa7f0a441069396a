// `probesim explore`: runs schedules of a strategy until one fails, saves that run as a
// replayable trace, prints the command that replays it, and shrinks it to its critical
// preemptions (explore.cc).
#pragma once

#include <string>

namespace probesim::cli {

// Exit status: 0 no failing schedule found, 1 one was found (and saved), 2 usage, 126 error.
int explore_command(int argc, char** argv);
// The guest's cwd for a host cwd (main.cc): the host's when inside `root`, else "/".
std::string guest_cwd(const std::string& root);

}  // namespace probesim::cli
