// The machine's identity as uname(2), /proc/version and /proc/sys/kernel/* report it
// (include/linux/utsname.h's new_utsname fields). One place, so that they agree.
#pragma once

#include <string_view>

namespace probesim::emu::uts {

inline constexpr std::string_view kSysname = "Linux";
inline constexpr std::string_view kNodename = "probesim";
inline constexpr std::string_view kRelease = "6.1.0-probesim";
inline constexpr std::string_view kVersion = "#1 SMP PREEMPT_DYNAMIC probesim";
inline constexpr std::string_view kDomainname = "(none)";
// /proc/version's "(LINUX_COMPILE_BY@LINUX_COMPILE_HOST) (LINUX_COMPILER)": the modelled kernel
// is not a compiled Linux, so these name the model; the compiler field is Debian 12's toolchain,
// which builds the guest kernel image (guest/kernel) on the supported host.
inline constexpr std::string_view kCompileBy = "probesim";
inline constexpr std::string_view kCompileHost = "probesim";
inline constexpr std::string_view kCompiler =
    "gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40";

}  // namespace probesim::emu::uts
