// The structural walk of an LMDB data file (layout: lmdb_layout.hpp).

#include "page_walk.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include <lmdb.h>
#include <unistd.h>

#include "lmdb_layout.hpp"

namespace durable::detail {

namespace {

using lmdb_layout::load;
using lmdb_layout::p_branch;
using lmdb_layout::p_leaf;
using lmdb_layout::p_overflow;
constexpr size_t header_size = lmdb_layout::page_header_size;
constexpr size_t node_header_size = 8;
// Bits LMDB may leave set on pages it wrote; they say nothing about the
// page's content (P_DIRTY, P_LOOSE, P_KEEP).
constexpr uint16_t transient_bits = 0x10 | 0x4000 | 0x8000;
constexpr uint16_t f_bigdata = 0x01;
constexpr uint16_t f_subdata = 0x02;
constexpr uint16_t f_dupdata = 0x04;
constexpr uint16_t duplicate_flags =
    MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP | MDB_REVERSEDUP;
constexpr uint64_t no_root = ~uint64_t{0};
// LMDB's cursors hold at most 32 levels (CURSOR_STACK).
constexpr uint16_t max_depth = 32;
constexpr uint64_t first_data_page = 2;

enum class tree_kind { free_pages, main, named };

class walker {
public:
  walker(const walk_input& in, const page_visitor& visit)
      : in_(in),
        psize_(in.page_size),
        // The largest node LMDB puts on a page; keys are never larger.
        max_key_(((psize_ - header_size) / 2 & ~size_t{1}) - 2),
        visit_(visit),
        visited_((in.last_pg + 64) / 64, 0),
        scratch_(psize_) {
    // nop
  }

  std::optional<std::string> run() {
    mark(0, first_data_page);
    if (auto err =
            walk_tree(in_.free_tree, "free-page list", tree_kind::free_pages))
      return err;
    if (auto err = walk_tree(in_.main_tree, "main", tree_kind::main))
      return err;
    // Moved out: walking a named tree never adds to the list.
    auto named = std::move(named_);
    for (auto& [name, record] : named)
      if (auto err = walk_tree(record, name, tree_kind::named))
        return err;
    return std::nullopt;
  }

private:
  using opt_error = std::optional<std::string>;

  struct level {
    std::vector<unsigned char> page;
    uint64_t pgno = 0;
    size_t keys = 0;
    size_t next = 0; // the next child to visit (branch pages)
  };

  std::string in_tree(uint64_t pgno) const {
    return "has a damaged page " + std::to_string(pgno) + " in database \"" +
           tree_ + "\": ";
  }

  std::string in_record() const {
    return "has a damaged record of database \"" + tree_ + "\": ";
  }

  std::string outside(const std::string& what, uint64_t pgno) const {
    return what + " " + std::to_string(pgno) + " lies outside the file's " +
           std::to_string(in_.last_pg + 1) + " pages";
  }

  // -- reading ----------------------------------------------------------------

  opt_error read(uint64_t pgno, unsigned char* buf, size_t len,
                 size_t offset = 0) {
    auto pos = static_cast<off_t>(pgno * psize_ + offset);
    size_t got = 0;
    while (got < len) {
      auto n =
          ::pread(in_.fd, buf + got, len - got, pos + static_cast<off_t>(got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return "cannot read page " + std::to_string(pgno) + ": " +
               (n < 0 ? std::strerror(errno) : "unexpected end of file");
      got += static_cast<size_t>(n);
    }
    return std::nullopt;
  }

  bool seen(uint64_t pgno) const {
    return (visited_[pgno / 64] >> (pgno % 64) & 1) != 0;
  }

  void mark(uint64_t first, uint64_t count) {
    for (auto p = first; p < first + count; ++p)
      visited_[p / 64] |= uint64_t{1} << (p % 64);
  }

  // Checks that `count` pages from `first` lie inside the snapshot and were
  // not reached before, then marks them.
  opt_error claim(uint64_t first, uint64_t count, const char* what,
                  uint64_t from) {
    if (first < first_data_page || first > in_.last_pg ||
        count > in_.last_pg - first + 1)
      return in_tree(from) + outside(std::string{what} + " page", first) +
             (count > 1 ? " (or one of the " + std::to_string(count) +
                              " pages from it)"
                        : "");
    for (auto p = first; p < first + count; ++p)
      if (seen(p))
        return in_tree(from) + what + " page " + std::to_string(p) +
               " is reached twice";
    mark(first, count);
    return std::nullopt;
  }

  // -- trees ------------------------------------------------------------------

  opt_error walk_tree(const tree_record& rec, std::string name,
                      tree_kind kind) {
    tree_ = std::move(name);
    kind_ = kind;
    entries_ = 0;
    if ((rec.flags & duplicate_flags) != 0)
      return in_record() +
             "it allows duplicate keys, which caf-durable never writes";
    if (rec.root == no_root) {
      if (rec.depth != 0 || rec.entries != 0)
        return in_record() + "it has no root but a depth of " +
               std::to_string(rec.depth) + " and " +
               std::to_string(rec.entries) + " entries";
      return std::nullopt;
    }
    if (rec.depth == 0 || rec.depth > max_depth)
      return in_record() + "its depth of " + std::to_string(rec.depth) +
             " is not between 1 and " + std::to_string(max_depth);
    if (rec.root < first_data_page || rec.root > in_.last_pg)
      return in_record() + outside("its root page", rec.root);
    if (levels_.size() < rec.depth)
      levels_.resize(rec.depth);
    if (auto err = enter(rec.root, 0, rec.depth, rec.root))
      return err;
    size_t top = 0;
    for (;;) {
      auto& lv = levels_[top];
      if (top + 1 == rec.depth || lv.next == lv.keys) {
        if (top == 0)
          break;
        --top;
        continue;
      }
      auto node = load<uint16_t>(lv.page.data(), header_size + 2 * lv.next++);
      auto child = load<uint32_t>(lv.page.data(), node) |
                   uint64_t{load<uint16_t>(lv.page.data(), node + 4)} << 32;
      if (auto err = enter(child, top + 1, rec.depth, lv.pgno))
        return err;
      ++top;
    }
    if (entries_ != rec.entries)
      return in_record() + "it records " + std::to_string(rec.entries) +
             " entries, its leaf pages hold " + std::to_string(entries_);
    return std::nullopt;
  }

  // Reads page `pgno` into level `at` of a tree of `depth` levels and checks
  // it; a leaf's nodes are checked and counted at once.
  opt_error enter(uint64_t pgno, size_t at, size_t depth, uint64_t parent) {
    if (at == 0 && seen(pgno))
      return in_record() + "its root page " + std::to_string(pgno) +
             " is also used elsewhere";
    if (auto err = claim(pgno, 1, "child", parent))
      return err;
    auto& lv = levels_[at];
    lv.page.resize(psize_);
    lv.pgno = pgno;
    lv.next = 0;
    if (auto err = read(pgno, lv.page.data(), psize_))
      return err;
    auto* p = lv.page.data();
    auto leaf = at + 1 == depth;
    if (load<uint64_t>(p, 0) != pgno)
      return in_tree(pgno) + "its header names page " +
             std::to_string(load<uint64_t>(p, 0));
    auto flags = static_cast<uint16_t>(load<uint16_t>(p, 10) & ~transient_bits);
    if (flags != (leaf ? p_leaf : p_branch))
      return in_tree(pgno) + "its flags 0x" + hex(load<uint16_t>(p, 10)) +
             " do not mark a " + (leaf ? "leaf" : "branch") +
             " page, as its level " + std::to_string(at + 1) + " of " +
             std::to_string(depth) + " requires";
    auto lower = size_t{load<uint16_t>(p, 12)};
    auto upper = size_t{load<uint16_t>(p, 14)};
    if (lower < header_size || lower > upper || upper > psize_ ||
        (lower - header_size) % 2 != 0)
      return in_tree(pgno) + "its free space bounds " + std::to_string(lower) +
             ".." + std::to_string(upper) + " do not fit a page of " +
             std::to_string(psize_) + " bytes";
    lv.keys = (lower - header_size) / 2;
    if (!leaf && lv.keys == 0)
      return in_tree(pgno) + "the branch page has no children";
    if (visit_)
      visit_(pgno, 1, leaf ? page_role::leaf : page_role::branch);
    for (size_t i = 0; i < lv.keys; ++i)
      if (auto err = check_node(lv, i, upper, leaf))
        return err;
    return std::nullopt;
  }

  opt_error check_node(const level& lv, size_t i, size_t upper, bool leaf) {
    auto* p = lv.page.data();
    auto off = size_t{load<uint16_t>(p, header_size + 2 * i)};
    auto node_error = [&](const std::string& what) {
      return in_tree(lv.pgno) + "node " + std::to_string(i) + " at offset " +
             std::to_string(off) + ": " + what;
    };
    if (off < upper || off % 2 != 0 || off + node_header_size > psize_)
      return node_error("the offset lies outside the node area " +
                        std::to_string(upper) + ".." + std::to_string(psize_));
    auto ksize = size_t{load<uint16_t>(p, off + 6)};
    if (ksize > max_key_)
      return node_error("its key of " + std::to_string(ksize) +
                        " bytes exceeds " + std::to_string(max_key_));
    auto room = psize_ - off - node_header_size;
    if (!leaf)
      return ksize <= room ? opt_error{}
                           : node_error("its key runs past the page's end");
    ++entries_;
    auto flags = load<uint16_t>(p, off + 4);
    auto dsize = uint64_t{load<uint16_t>(p, off)} |
                 uint64_t{load<uint16_t>(p, off + 2)} << 16;
    auto big = (flags & f_bigdata) != 0;
    if ((flags & ~(f_bigdata | f_subdata | f_dupdata)) != 0 ||
        (flags & f_dupdata) != 0 || (big && (flags & f_subdata) != 0))
      return node_error("its flags 0x" + hex(flags) + " are not valid here");
    if (ksize + (big ? 8 : dsize) > room)
      return node_error("its key and data (" + std::to_string(ksize) + " + " +
                        std::to_string(big ? 8 : dsize) +
                        " bytes) run past the page's end");
    auto* data = p + off + node_header_size + ksize;
    if ((flags & f_subdata) != 0)
      return named_tree(node_error, p + off + node_header_size, ksize, data,
                        dsize);
    if (kind_ == tree_kind::free_pages) {
      if (ksize != sizeof(uint64_t))
        return node_error("a free-page list key has " + std::to_string(ksize) +
                          " bytes, not 8");
      if (!big)
        return free_ids(node_error, data, dsize, 0, dsize);
    }
    if (!big)
      return std::nullopt;
    return overflow(lv.pgno, load<uint64_t>(data, 0), dsize, node_error);
  }

  template <class Err>
  opt_error named_tree(const Err& node_error, const unsigned char* key,
                       size_t ksize, const unsigned char* data,
                       uint64_t dsize) {
    if (kind_ != tree_kind::main)
      return node_error("a named database inside database \"" + tree_ + "\"");
    if (dsize != tree_record_size)
      return node_error("a named database's record has " +
                        std::to_string(dsize) + " bytes, not " +
                        std::to_string(tree_record_size));
    std::string name;
    for (size_t i = 0; i < ksize && i < 64; ++i)
      name += key[i] >= 0x20 && key[i] < 0x7f ? static_cast<char>(key[i]) : '?';
    named_.emplace_back(std::move(name), load_tree_record(data));
    return std::nullopt;
  }

  // The first page of a large value: it must start an overflow run long
  // enough for the value (LMDB keeps a longer run when it overwrites a value
  // in place with a shorter one).
  template <class Err>
  opt_error overflow(uint64_t from, uint64_t pgno, uint64_t dsize,
                     const Err& node_error) {
    if (pgno < first_data_page || pgno > in_.last_pg)
      return node_error(outside("its large value's page", pgno));
    unsigned char hdr[header_size];
    if (auto err = read(pgno, hdr, sizeof(hdr)))
      return err;
    auto pages = uint64_t{load<uint32_t>(hdr, 12)};
    auto needed = (header_size - 1 + dsize) / psize_ + 1;
    if (load<uint64_t>(hdr, 0) != pgno ||
        (load<uint16_t>(hdr, 10) & ~transient_bits) != p_overflow ||
        pages < needed)
      return "has a damaged page " + std::to_string(pgno) + " in database \"" +
             tree_ +
             "\": it does not start a run of overflow pages (at least " +
             std::to_string(needed) + ") for the value of " +
             std::to_string(dsize) + " bytes on page " + std::to_string(from);
    if (auto err = claim(pgno, pages, "overflow", from))
      return err;
    if (visit_)
      visit_(pgno, pages, page_role::overflow);
    if (kind_ != tree_kind::free_pages)
      return std::nullopt;
    // A long list of free pages: check it a page at a time.
    for (uint64_t done = 0; done < dsize;) {
      auto chunk = std::min<uint64_t>(psize_, dsize - done);
      if (auto err = read(pgno, scratch_.data(), chunk, header_size + done))
        return err;
      if (auto err = free_ids(node_error, scratch_.data(), chunk, done, dsize))
        return err;
      done += chunk;
    }
    return std::nullopt;
  }

  // Checks the part [done, done + len) of a free-page list of `dsize` bytes:
  // a count n, then at least n page numbers (LMDB may reserve more).
  template <class Err>
  opt_error free_ids(const Err& node_error, const unsigned char* data,
                     uint64_t len, uint64_t done, uint64_t dsize) {
    if (done == 0) {
      if (dsize % 8 != 0 || dsize < 8)
        return node_error("a free-page list of " + std::to_string(dsize) +
                          " bytes");
      free_count_ = load<uint64_t>(data, 0);
      if (free_count_ > dsize / 8 - 1)
        return node_error("a free-page list of " + std::to_string(dsize) +
                          " bytes counts " + std::to_string(free_count_) +
                          " pages");
    }
    for (uint64_t at = done == 0 ? 8 : 0; at < len; at += 8) {
      auto index = (done + at) / 8;
      if (index > free_count_)
        break;
      auto id = load<uint64_t>(data, at);
      if (id < first_data_page || id > in_.last_pg)
        return node_error(outside("free page", id));
    }
    return std::nullopt;
  }

  static std::string hex(unsigned x) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%x", x & 0xffffu);
    return buf;
  }

  const walk_input& in_;
  size_t psize_;
  size_t max_key_;
  const page_visitor& visit_;
  std::vector<uint64_t> visited_;
  std::vector<unsigned char> scratch_;
  std::vector<level> levels_;
  std::vector<std::pair<std::string, tree_record>> named_;
  std::string tree_;
  tree_kind kind_ = tree_kind::main;
  uint64_t entries_ = 0;
  uint64_t free_count_ = 0;
};

} // namespace

tree_record load_tree_record(const unsigned char* bytes) {
  tree_record r;
  r.flags = load<uint16_t>(bytes, 4);
  r.depth = load<uint16_t>(bytes, 6);
  r.entries = load<uint64_t>(bytes, 32);
  r.root = load<uint64_t>(bytes, 40);
  return r;
}

std::optional<std::string> walk_data_file(const walk_input& in,
                                          const page_visitor& visit) {
  return walker{in, visit}.run();
}

} // namespace durable::detail
