#include "convert.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "errors.h"
#include "py_mm.h"

namespace py = pybind11;

namespace probesim::python {
namespace {

bool has_nul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

std::string checked_string(py::handle obj, const char* what) {
  if (!py::isinstance<py::str>(obj)) throw BadArgument(std::string(what) + ": expected a str");
  std::string s = obj.cast<std::string>();
  if (has_nul(s)) throw BadArgument(std::string(what) + ": contains a NUL character");
  return s;
}

}  // namespace

py::str to_str(std::string_view text) {
  PyObject* s =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "backslashreplace");
  if (!s) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(s);
}

std::string fspath(py::handle obj, const char* what) {
  py::object path;
  try {
    path = py::module_::import("os").attr("fspath")(obj);
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;
    throw BadArgument(std::string(what) + ": expected a str or os.PathLike, got " +
                      std::string(py::str(obj.get_type().attr("__name__"))));
  }
  std::string s = path.cast<std::string>();  // str or bytes
  if (has_nul(s)) throw BadArgument(std::string(what) + ": contains a NUL character");
  return s;
}

std::string path_string(const std::filesystem::path& path, const char* what) {
  std::string s = path.string();
  if (has_nul(s)) throw BadArgument(std::string(what) + ": contains a NUL character");
  return s;
}

std::vector<std::string> to_argv(py::handle argv) {
  if (py::isinstance<py::str>(argv) || py::isinstance<py::bytes>(argv) ||
      !py::isinstance<py::sequence>(argv))
    throw BadArgument("argv: expected a list of strings such as [path, 'arg1']");
  std::vector<std::string> out;
  for (py::handle item : argv) out.push_back(fspath(item, "argv item"));
  if (out.empty() || out[0].empty()) throw BadArgument("argv: empty (argv[0] is the program)");
  return out;
}

std::vector<std::string> to_envp(py::handle env) {
  std::vector<std::string> out;
  if (env.is_none()) return out;
  if (!py::hasattr(env, "items")) throw BadArgument("env: expected a mapping of str to str");
  for (py::handle kv : env.attr("items")()) {
    auto pair = kv.cast<py::tuple>();
    std::string key = checked_string(pair[0], "env key");
    if (key.empty() || key.find('=') != std::string::npos)
      throw BadArgument("env key '" + key + "': must be non-empty and contain no '='");
    out.push_back(key + "=" + checked_string(pair[1], "env value"));
  }
  return out;
}

uint64_t to_u64(py::handle value, const char* what) {
  if (!py::isinstance<py::int_>(value) || py::isinstance<py::bool_>(value))
    throw BadArgument(std::string(what) + ": expected an int");
  if (value.cast<py::int_>() < py::int_(0))
    throw BadArgument(std::string(what) + ": must not be negative");
  try {
    return value.cast<uint64_t>();
  } catch (const py::cast_error&) {
    throw BadArgument(std::string(what) + ": does not fit in 64 bits");
  }
}

uint64_t to_word(py::handle value, const char* what) {
  if (!py::isinstance<py::int_>(value) || py::isinstance<py::bool_>(value))
    throw BadArgument(std::string(what) + ": expected an int");
  int overflow = 0;
  long long s = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
  if (overflow == 0) return static_cast<uint64_t>(s);
  unsigned long long u = PyLong_AsUnsignedLongLong(value.ptr());
  if (PyErr_Occurred()) {
    PyErr_Clear();
    throw BadArgument(std::string(what) + ": does not fit in 64 bits");
  }
  return u;
}

namespace {

// A C identifier-ish kallsyms name (letters, digits, '_', '.', '$').
bool valid_symbol(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '$')
      return false;
  return true;
}

}  // namespace

ProbeTarget to_probe_target(py::handle where, const char* what) {
  ProbeTarget t;
  if (py::isinstance<py::int_>(where) && !py::isinstance<py::bool_>(where)) {
    t.addr = to_u64(where, what);
    t.text = hex_addr(t.addr);
    return t;
  }
  if (!py::isinstance<py::str>(where))
    throw BadArgument(std::string(what) + ": expected an address (int) or 'symbol[+offset]'");
  t.text = where.cast<std::string>();
  size_t plus = t.text.find('+');
  t.symbol = t.text.substr(0, plus);
  if (!valid_symbol(t.symbol))
    throw BadArgument(std::string(what) + ": '" + t.text + "' is not 'symbol' or 'symbol+offset'");
  if (plus == std::string::npos) return t;
  std::string off = t.text.substr(plus + 1);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(off.c_str(), &end, 0);
  if (off.empty() || !std::isdigit(static_cast<unsigned char>(off[0])) || *end != '\0' ||
      errno == ERANGE)
    throw BadArgument(std::string(what) + ": bad offset in '" + t.text + "' (decimal or 0x-hex)");
  t.offset = v;
  return t;
}

}  // namespace probesim::python
