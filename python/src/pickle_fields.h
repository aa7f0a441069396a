// Pickling of the value snapshots (Vma, ProcessExit, SchedEvent, KernelSymbol, ...): the pickled
// state is the tuple of the listed members, in order, so `pickle.loads(pickle.dumps(v))` gives
// an equal snapshot in another process (multiprocessing sweeps). Byte strings travel as bytes
// (instruction encodings are not text); nested snapshots pickle themselves. Live handles inside
// a snapshot (KprobeInfo.probes, UprobeInfo.consumers) cannot cross processes: an unpickled
// snapshot holds None in their place.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace probesim::python {

template <class V>
pybind11::object to_state(const V& v) {
  return pybind11::cast(v);
}
inline pybind11::object to_state(const std::string& s) {
  return pybind11::bytes(s);
}
inline pybind11::object to_state(const std::optional<std::string>& s) {
  return s ? pybind11::object(pybind11::bytes(*s)) : pybind11::none();
}
inline pybind11::object to_state(const pybind11::list& handles) {
  pybind11::list out;
  for (size_t i = 0; i < handles.size(); ++i) out.append(pybind11::none());
  return out;
}

template <class V>
void from_state(pybind11::handle h, V& out) {
  out = h.cast<V>();  // std::string accepts bytes
}
inline void from_state(pybind11::handle h, pybind11::list& out) {
  out = pybind11::reinterpret_borrow<pybind11::list>(h);
}

// The members of T that make up its pickled state.
template <class T, class... M>
struct PickleMembers {
  std::tuple<M T::*...> ptrs;

  pybind11::tuple get(const T& v) const {
    return std::apply([&](auto... p) { return pybind11::make_tuple(to_state(v.*p)...); }, ptrs);
  }
  T set(const pybind11::tuple& t, const char* type) const {
    if (t.size() != sizeof...(M))
      throw pybind11::value_error(std::string("probesim.") + type + ".__setstate__: expected " +
                                  std::to_string(sizeof...(M)) + " fields, got " +
                                  std::to_string(t.size()));
    T v = T();  // value-initialized (SchedEvent has no member initializers)
    size_t i = 0;
    std::apply([&](auto... p) { (from_state(t[i++], v.*p), ...); }, ptrs);
    return v;
  }
};

template <class T, class... M>
PickleMembers<T, M...> pickle_members(M T::*... ptrs) {
  return {std::make_tuple(ptrs...)};
}

// Makes the class `type` of module m (bound to T) pickle as the members listed.
template <class T, class... M>
void def_pickle(pybind11::module_& m, const char* type, PickleMembers<T, M...> members) {
  auto c = pybind11::reinterpret_borrow<pybind11::class_<T>>(m.attr(type));
  c.def(
      pybind11::pickle([members](const T& v) { return members.get(v); },
                       [members, type](const pybind11::tuple& t) { return members.set(t, type); }));
}

}  // namespace probesim::python
