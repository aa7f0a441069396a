#include "emu/vfs/overlay.h"

namespace probesim::emu {

std::string Overlay::prefix_of(std::string_view dir) {
  std::string p(dir);
  if (p.empty() || p.back() != '/') p += '/';
  return p;
}

const OverlayEntry* Overlay::find(std::string_view path) const {
  auto it = entries_.find(path);
  return it == entries_.end() ? nullptr : &it->second;
}

void Overlay::put(const std::string& path, OverlayEntry entry) {
  entries_.insert_or_assign(path, std::move(entry));
}

void Overlay::erase(std::string_view path) {
  auto it = entries_.find(path);
  if (it != entries_.end()) entries_.erase(it);
}

std::pair<Overlay::Map::iterator, Overlay::Map::iterator> Overlay::below(std::string_view dir) {
  const std::string prefix = prefix_of(dir);
  auto first = entries_.lower_bound(prefix);
  auto last = first;
  while (last != entries_.end() && last->first.starts_with(prefix)) ++last;
  return {first, last};
}

void Overlay::erase_below(std::string_view dir) {
  auto [first, last] = below(dir);
  entries_.erase(first, last);
}

void Overlay::move_below(std::string_view from, std::string_view to) {
  const std::string from_prefix = prefix_of(from), to_prefix = prefix_of(to);
  auto [first, last] = below(from);
  std::vector<std::pair<std::string, OverlayEntry>> moved;
  for (auto it = first; it != last; ++it) {
    moved.emplace_back(to_prefix + it->first.substr(from_prefix.size()), std::move(it->second));
  }
  entries_.erase(first, last);
  for (auto& [path, entry] : moved) entries_.insert_or_assign(path, std::move(entry));
}

std::vector<std::pair<std::string, const OverlayEntry*>> Overlay::children(
    std::string_view dir) const {
  const std::string prefix = prefix_of(dir);
  std::vector<std::pair<std::string, const OverlayEntry*>> out;
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && it->first.starts_with(prefix); ++it) {
    const std::string_view rest = std::string_view(it->first).substr(prefix.size());
    if (rest.find('/') == std::string_view::npos) out.emplace_back(std::string(rest), &it->second);
  }
  return out;
}

}  // namespace probesim::emu
