#include "emu/cred.h"

#include <cerrno>

namespace probesim::emu {

void Cred::on_exec() {
  uid.saved = uid.fs = uid.eff;
  gid.saved = gid.fs = gid.eff;
}

// __sys_setuid: with the capability every id becomes `id`; without it only the effective
// (and fs) id may become the real or the saved one.
int64_t set_id(Ids& ids, bool capable, uint32_t id) {
  if (id == kNoId) return -EINVAL;
  if (capable) {
    ids.real = ids.saved = id;
  } else if (id != ids.real && id != ids.saved) {
    return -EPERM;
  }
  ids.eff = ids.fs = id;
  return 0;
}

// __sys_setreuid: the real id may become the real or effective one, the effective id any of
// the three; the saved id follows the new effective one when the real id is set or the
// effective one becomes other than the old real one.
int64_t set_re_id(Ids& ids, bool capable, uint32_t r, uint32_t e) {
  Ids n = ids;
  if (r != kNoId) {
    if (r != ids.real && r != ids.eff && !capable) return -EPERM;
    n.real = r;
  }
  if (e != kNoId) {
    if (e != ids.real && e != ids.eff && e != ids.saved && !capable) return -EPERM;
    n.eff = e;
  }
  if (r != kNoId || (e != kNoId && e != ids.real)) n.saved = n.eff;
  n.fs = n.eff;
  ids = n;
  return 0;
}

// __sys_setresuid: without the capability each new id must be one of the current three. A
// call that changes nothing (the effective id already the fs id) returns early, as Linux's.
int64_t set_res_id(Ids& ids, bool capable, uint32_t r, uint32_t e, uint32_t s) {
  if ((r == kNoId || r == ids.real) && (e == kNoId || (e == ids.eff && e == ids.fs)) &&
      (s == kNoId || s == ids.saved)) {
    return 0;
  }
  auto is_current = [&](uint32_t v) { return v == ids.real || v == ids.eff || v == ids.saved; };
  if (!capable && ((r != kNoId && !is_current(r)) || (e != kNoId && !is_current(e)) ||
                   (s != kNoId && !is_current(s)))) {
    return -EPERM;
  }
  if (r != kNoId) ids.real = r;
  if (e != kNoId) ids.eff = e;
  if (s != kNoId) ids.saved = s;
  ids.fs = ids.eff;
  return 0;
}

// __sys_setfsuid: the fs id may become any of the four current ids, or anything with the
// capability; an invalid id changes nothing.
uint32_t set_fs_id(Ids& ids, bool capable, uint32_t id) {
  const uint32_t old = ids.fs;
  if (id == kNoId) return old;
  if (capable || id == ids.real || id == ids.eff || id == ids.saved || id == ids.fs) ids.fs = id;
  return old;
}

}  // namespace probesim::emu
