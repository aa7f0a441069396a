#include "convert.h"

#include "errors.h"

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

}  // namespace probesim::python
