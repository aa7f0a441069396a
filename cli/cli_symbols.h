// `probesim symbols`: what probes can name. --kernel: the guest kernel's probe-able functions
// (tracefs available_filter_functions) with their addresses; PATH: an ELF file's functions with
// the file offsets a uprobe takes (PATH:0xOFFSET), as `perf probe -x PATH -F` names them.
#pragma once

namespace probesim::cli {

int symbols_command(int argc, char** argv);

}  // namespace probesim::cli
