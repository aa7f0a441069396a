#include "mmu/immap_tree.h"

#include <algorithm>
#include <functional>

#include "probesim/assert.h"

namespace probesim::mmu {
namespace {

bool is_red(const Vma* v) {
  return v && v->shared.red;
}
ImmapNode& node(Vma* v) {
  return v->shared;
}

}  // namespace

uint64_t ImmapTree::compute_subtree_last(const Vma* v) {
  uint64_t m = last_of(v);
  if (v->shared.left) m = std::max(m, v->shared.left->shared.rb_subtree_last);
  if (v->shared.right) m = std::max(m, v->shared.right->shared.rb_subtree_last);
  return m;
}

void ImmapTree::replace_child(Vma* parent, Vma* old_child, Vma* new_child) {
  if (!parent) {
    root_ = new_child;
  } else if (node(parent).left == old_child) {
    node(parent).left = new_child;
  } else {
    node(parent).right = new_child;
  }
  if (new_child) node(new_child).parent = parent;
}

// Augmented rotation (Linux's augment_rotate): the new subtree top inherits the old top's
// rb_subtree_last (same node set); the old top is recomputed from its new children.
void ImmapTree::rotate_left(Vma* x) {
  Vma* y = node(x).right;
  node(x).right = node(y).left;
  if (node(y).left) node(node(y).left).parent = x;
  replace_child(node(x).parent, x, y);
  node(y).left = x;
  node(x).parent = y;
  node(y).rb_subtree_last = node(x).rb_subtree_last;
  node(x).rb_subtree_last = compute_subtree_last(x);
}

void ImmapTree::rotate_right(Vma* x) {
  Vma* y = node(x).left;
  node(x).left = node(y).right;
  if (node(y).right) node(node(y).right).parent = x;
  replace_child(node(x).parent, x, y);
  node(y).right = x;
  node(x).parent = y;
  node(y).rb_subtree_last = node(x).rb_subtree_last;
  node(x).rb_subtree_last = compute_subtree_last(x);
}

void ImmapTree::propagate(Vma* from) {
  for (Vma* n = from; n; n = node(n).parent) node(n).rb_subtree_last = compute_subtree_last(n);
}

void ImmapTree::insert(Vma* vma) {
  PROBESIM_ASSERT_MSG(!vma->shared.linked, "VMA inserted into i_mmap twice");
  PROBESIM_ASSERT(vma->vm_start < vma->vm_end);
  const uint64_t start = start_of(vma), last = last_of(vma);
  Vma* parent = nullptr;
  bool left = false;
  for (Vma* n = root_; n;) {  // descend, widening rb_subtree_last on the way (ties go right)
    node(n).rb_subtree_last = std::max(node(n).rb_subtree_last, last);
    parent = n;
    left = start < start_of(n);
    n = left ? node(n).left : node(n).right;
  }
  vma->shared = ImmapNode{parent, nullptr, nullptr, last, true, true};
  if (!parent) {
    root_ = vma;
  } else if (left) {
    node(parent).left = vma;
  } else {
    node(parent).right = vma;
  }
  ++size_;
  insert_fixup(vma);
}

void ImmapTree::insert_fixup(Vma* z) {
  while (is_red(node(z).parent)) {
    Vma* p = node(z).parent;
    Vma* g = node(p).parent;  // exists: a red node is never the root
    const bool p_is_left = node(g).left == p;
    Vma* uncle = p_is_left ? node(g).right : node(g).left;
    if (is_red(uncle)) {  // recolor and move up
      node(p).red = false;
      node(uncle).red = false;
      node(g).red = true;
      z = g;
      continue;
    }
    if (p_is_left) {
      if (z == node(p).right) {
        z = p;
        rotate_left(z);
      }
      node(node(z).parent).red = false;
      node(g).red = true;
      rotate_right(g);
    } else {
      if (z == node(p).left) {
        z = p;
        rotate_right(z);
      }
      node(node(z).parent).red = false;
      node(g).red = true;
      rotate_left(g);
    }
  }
  node(root_).red = false;
}

void ImmapTree::remove(Vma* z) {
  PROBESIM_ASSERT_MSG(z->shared.linked && contains(z), "VMA removed from an i_mmap it is not in");
  bool removed_red = node(z).red;
  Vma* x = nullptr;
  Vma* x_parent = nullptr;
  if (!node(z).left || !node(z).right) {
    x = node(z).left ? node(z).left : node(z).right;
    x_parent = node(z).parent;
    replace_child(node(z).parent, z, x);
  } else {
    Vma* y = node(z).right;  // successor: leftmost of the right subtree
    while (node(y).left) y = node(y).left;
    removed_red = node(y).red;
    x = node(y).right;
    if (node(y).parent == z) {
      x_parent = y;
    } else {
      x_parent = node(y).parent;
      replace_child(node(y).parent, y, x);
      node(y).right = node(z).right;
      node(node(y).right).parent = y;
    }
    replace_child(node(z).parent, z, y);
    node(y).left = node(z).left;
    node(node(y).left).parent = y;
    node(y).red = node(z).red;
  }
  propagate(x_parent);  // y (if moved) is an ancestor of x_parent, so it is recomputed too
  if (!removed_red) remove_fixup(x, x_parent);
  z->shared = ImmapNode{};
  --size_;
}

void ImmapTree::remove_fixup(Vma* x, Vma* x_parent) {
  while (x != root_ && !is_red(x)) {
    Vma* p = x ? node(x).parent : x_parent;
    const bool x_is_left = node(p).left == x;
    Vma* w = x_is_left ? node(p).right : node(p).left;  // sibling: exists (black height >= 1)
    if (is_red(w)) {
      node(w).red = false;
      node(p).red = true;
      x_is_left ? rotate_left(p) : rotate_right(p);
      w = x_is_left ? node(p).right : node(p).left;
    }
    Vma* near = x_is_left ? node(w).left : node(w).right;
    Vma* far = x_is_left ? node(w).right : node(w).left;
    if (!is_red(near) && !is_red(far)) {
      node(w).red = true;
      x = p;
      x_parent = node(p).parent;
      continue;
    }
    if (!is_red(far)) {
      node(near).red = false;
      node(w).red = true;
      x_is_left ? rotate_right(w) : rotate_left(w);
      w = x_is_left ? node(p).right : node(p).left;
    }
    node(w).red = node(p).red;
    node(p).red = false;
    Vma* far2 = x_is_left ? node(w).right : node(w).left;
    if (far2) node(far2).red = false;
    x_is_left ? rotate_left(p) : rotate_right(p);
    x = root_;
  }
  if (x) node(x).red = false;
}

std::vector<Vma*> ImmapTree::stab(PageIndex pgoff) const {
  std::vector<Vma*> out;
  for_each_overlap(pgoff.value, pgoff.value, [&](Vma* v) { out.push_back(v); });
  return out;
}

bool ImmapTree::contains(const Vma* vma) const {
  if (!vma->shared.linked) return false;
  const Vma* n = vma;
  while (n->shared.parent) n = n->shared.parent;
  return n == root_;
}

int ImmapTree::verify_node(const Vma* n, const Vma* parent, size_t& count) const {
  if (!n) return 1;
  const ImmapNode& s = n->shared;
  PROBESIM_ASSERT(s.linked && s.parent == parent);
  PROBESIM_ASSERT(n->vm_start < n->vm_end);
  if (s.red) PROBESIM_ASSERT(!is_red(s.left) && !is_red(s.right));
  PROBESIM_ASSERT_MSG(s.rb_subtree_last == compute_subtree_last(n), "stale rb_subtree_last");
  ++count;
  const int lh = verify_node(s.left, n, count);
  const int rh = verify_node(s.right, n, count);
  PROBESIM_ASSERT_MSG(lh == rh, "red-black black-height mismatch");
  return lh + (s.red ? 0 : 1);
}

void ImmapTree::verify() const {
  PROBESIM_ASSERT(!is_red(root_));
  size_t count = 0;
  verify_node(root_, nullptr, count);
  PROBESIM_ASSERT(count == size_);
  // BST order: the in-order walk is sorted by start (rotations may put equal starts on
  // either side, so only the in-order sequence is checked, as Linux's tree guarantees).
  uint64_t prev = 0;
  for (const NodeView& v : nodes()) {
    PROBESIM_ASSERT_MSG(v.start >= prev, "i_mmap in-order walk not sorted by vm_pgoff");
    prev = v.start;
  }
}

std::vector<ImmapTree::NodeView> ImmapTree::nodes() const {
  std::vector<NodeView> out;
  out.reserve(size_);
  std::function<void(const Vma*, int)> walk = [&](const Vma* n, int depth) {
    if (!n) return;
    walk(n->shared.left, depth + 1);
    out.push_back(
        NodeView{n, start_of(n), last_of(n), n->shared.rb_subtree_last, depth, n->shared.red});
    walk(n->shared.right, depth + 1);
  };
  walk(root_, 0);
  return out;
}

}  // namespace probesim::mmu
