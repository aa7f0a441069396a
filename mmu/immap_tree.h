// ImmapTree: Linux's i_mmap (mm/interval_tree.c): every VMA mapping one file, as an
// augmented red-black tree keyed on the closed file-page interval
// [vm_pgoff, vm_pgoff + pages - 1]. Ties go right, so equal starts keep insertion order.
// Each node caches rb_subtree_last, the largest interval end in its subtree.
// Insert and remove are O(log n); listing the m VMAs overlapping a range is
// O((m + 1) log n). Nodes are intrusive (Vma::shared): the tree never allocates.
// Duplicate intervals are allowed (many mms map the same file range).
//
// Ownership: non-owning; each Vma is owned by its Mm, which links it while it exists.
// Only the Mm owning a VMA inserts/removes it; queries may come from anywhere (uprobes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mmu/vma.h"
#include "probesim/types.h"

namespace probesim::mmu {

class ImmapTree {
 public:
  ImmapTree() = default;
  ImmapTree(const ImmapTree&) = delete;
  ImmapTree& operator=(const ImmapTree&) = delete;

  // Precondition: vma not linked anywhere, vma->vm_start < vma->vm_end.
  void insert(Vma* vma);
  // Precondition: vma linked in this tree.
  void remove(Vma* vma);

  // Calls f(Vma*) for every VMA whose interval overlaps [first, last], ascending by start
  // (equal starts in insertion order). f must not modify the tree.
  template <class F>
  void for_each_overlap(uint64_t first, uint64_t last, F&& f) const {
    if (root_ && first <= last) visit_overlap(root_, first, last, f);
  }
  // Every VMA whose interval contains pgoff (uprobes' stabbing query).
  std::vector<Vma*> stab(PageIndex pgoff) const;
  // True if vma is linked in this tree (O(log n) walk to the root).
  bool contains(const Vma* vma) const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Asserts BST order, red-black rules, parent links, rb_subtree_last and size.
  void verify() const;

  // For notebooks: each node's interval, cached subtree_last, depth (root 0) and color.
  struct NodeView {
    const Vma* vma;
    uint64_t start, last, subtree_last;
    int depth;
    bool red;
  };
  std::vector<NodeView> nodes() const;  // in order

 private:
  static uint64_t start_of(const Vma* v) { return v->vm_pgoff; }
  static uint64_t last_of(const Vma* v) { return v->pgoff_last(); }
  static uint64_t subtree_last(const Vma* v) { return v ? v->shared.rb_subtree_last : 0; }
  static uint64_t compute_subtree_last(const Vma* v);

  template <class F>
  static void visit_overlap(const Vma* n, uint64_t first, uint64_t last, F& f) {
    while (n && n->shared.rb_subtree_last >= first) {
      visit_overlap(n->shared.left, first, last, f);
      if (start_of(n) > last) return;  // this node and its right subtree start too late
      if (last_of(n) >= first) f(const_cast<Vma*>(n));
      n = n->shared.right;  // tail iteration on the right child
    }
  }

  void rotate_left(Vma* x);
  void rotate_right(Vma* x);
  void replace_child(Vma* parent, Vma* old_child, Vma* new_child);
  void propagate(Vma* from);  // recompute rb_subtree_last from `from` up to the root
  void insert_fixup(Vma* z);
  void remove_fixup(Vma* x, Vma* x_parent);
  int verify_node(const Vma* n, const Vma* parent, size_t& count) const;  // black height

  Vma* root_ = nullptr;
  size_t size_ = 0;
};

}  // namespace probesim::mmu
