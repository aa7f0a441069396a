// Cred: a process's credentials (Linux's struct cred, include/linux/cred.h): the real,
// effective, saved and filesystem user and group ids and the supplementary groups, with the
// rules of kernel/sys.c for changing them (setuid ... setfsgid, setgroups).
//
// Modelled: the ids themselves (getuid & co., /proc/<pid>/status, AT_UID..AT_SECURE of an
// execve, the owner of files the process creates) and who may change them. Privilege is
// Linux's default capability behaviour without file capabilities or securebits: CAP_SETUID,
// CAP_SETGID and CAP_FSETID are effective exactly while the effective uid is 0 (commoncap.c
// cap_emulate_setxuid). NOT modelled: permission checks against these ids (file access,
// kill, ptrace...): every process may do what root may, whatever its ids; set-user-ID and
// set-group-ID executables (execve keeps the caller's ids); file capabilities.
// Linux keeps credentials per thread; here they are per process, which is what programs see
// through libc (glibc and musl apply set*id to every thread of the process).
// Owned by Process (copied at fork); touched only on the machine's thread.
#pragma once

#include <cstdint>
#include <vector>

namespace probesim::emu {

inline constexpr uint32_t kNoId = 0xffffffffu;  // (uid_t)-1: "leave unchanged", never valid
inline constexpr uint32_t kNgroupsMax = 65536;  // NGROUPS_MAX (include/uapi/linux/limits.h)

// One family of ids: uid, euid, suid, fsuid (or the gids).
struct Ids {
  uint32_t real = 0, eff = 0, saved = 0, fs = 0;
  bool operator==(const Ids&) const = default;
};

struct Cred {
  Ids uid, gid;
  std::vector<uint32_t> groups;  // supplementary groups, sorted (set_groups_sorted)

  bool capable() const { return uid.eff == 0; }  // CAP_SETUID/CAP_SETGID/CAP_FSETID
  // bprm_creds_from_file without set-id bits: suid and fsuid become the euid (gids alike).
  void on_exec();
  // AT_SECURE: the new image runs with other effective than real ids (cap_bprm_creds_from_file).
  bool secure_exec() const { return uid.eff != uid.real || gid.eff != gid.real; }
};

// kernel/sys.c for one family, `capable` meaning the caller holds CAP_SETUID (or CAP_SETGID).
// Each returns 0 or -errno (EINVAL for an id of -1 where one is required, EPERM) and changes
// nothing on error.
int64_t set_id(Ids& ids, bool capable, uint32_t id);                // setuid, setgid
int64_t set_re_id(Ids& ids, bool capable, uint32_t r, uint32_t e);  // setreuid, setregid
int64_t set_res_id(Ids& ids, bool capable, uint32_t r, uint32_t e, uint32_t s);  // setres*id
// setfsuid/setfsgid: always returns the old fs id; changes it if allowed.
uint32_t set_fs_id(Ids& ids, bool capable, uint32_t id);

}  // namespace probesim::emu
