// Damaged pages inside a data file: every page of a real file is overwritten
// in turn (random bytes, zeroes, its own header over random bytes, a copy of
// another page) and the copy is opened by a server (a forked child) and by
// durable-admin. Neither may die by a signal: each refuses the file with an
// error naming the damaged page, or opens it and reads every value back.

#define BOOST_TEST_MODULE data_file
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>

#include "data_file_check.hpp"
#include "durable/errc.hpp"
#include "process.hpp"
#include "test_objects.hpp"

#ifndef ADMIN_BINARY
#error "ADMIN_BINARY must name the durable-admin executable"
#endif

using namespace std::chrono_literals;
using durable::jurisdiction;

namespace {

using put_atom = caf::atom_constant<caf::atom("put")>;
using arm_atom = caf::atom_constant<caf::atom("arm")>;
using dump_atom = caf::atom_constant<caf::atom("dump")>;
using fill_atom = caf::atom_constant<caf::atom("fill")>;

using bin_api = caf::typed_actor<
    caf::replies_to<put_atom, std::string, std::string>::with<bool>,
    caf::replies_to<arm_atom, int64_t>::with<bool>,
    caf::replies_to<fill_atom, int, int>::with<bool>,
    caf::replies_to<dump_atom>::with<std::string>>;

/// Stores values; `dump` returns all of them (sizes and a hash per key), or
/// the text of the error that reading them gave.
class bin : public durable::object<bin_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](put_atom, const std::string& k, const std::string& v) {
          return !storage().put(k, v);
        },
        [this](arm_atom, int64_t t) { return !storage().set_alarm(t); },
        [this](fill_atom, int keys, int size) {
          std::vector<durable::object_storage::key_value> kvs;
          for (int k = 0; k < keys; ++k)
            kvs.emplace_back("key" + std::to_string(k),
                             std::string(size + k % 7, 'a' + k % 26));
          return !storage().put(kvs);
        },
        [this](dump_atom) {
          auto all = storage().list();
          if (!all)
            return "error: " + durable::message_of(all.error());
          std::string out;
          for (auto& kv : *all)
            out += kv.first + '=' + std::to_string(kv.second.size()) + '/' +
                   std::to_string(std::hash<std::string>{}(kv.second)) + ';';
          return out;
        },
    };
  }
};

constexpr int64_t far_alarm = 4'000'000'000'123;
constexpr int objects = 60;
constexpr int eu_objects = 6;

std::string object_name(int i) {
  return "o" + std::to_string(i);
}

jurisdiction where(int i) {
  return i < eu_objects ? jurisdiction::eu : jurisdiction::none;
}

/// Fills a deployment: small values (several leaf pages under a branch
/// page), large values (overflow pages), alarms (their own databases) and
/// rewrites (free pages), in the global and the eu jurisdiction.
durable::object_namespace<bin_api> fill(test::fixture& fx) {
  auto ns = fx.bind<bin>("bin");
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < objects; ++i) {
      auto obj = ns.jurisdiction(where(i)).get_by_name(object_name(i));
      BOOST_REQUIRE(*obj.call(5s, fill_atom::value, 48, 90 + round));
      if (i % 8 == 0)
        BOOST_REQUIRE(*obj.call(5s, put_atom::value, "big",
                                std::string(9000 + 4000 * round, 'B')));
      if (i % 4 == 1)
        BOOST_REQUIRE(*obj.call(5s, arm_atom::value, far_alarm + i));
    }
  return ns;
}

/// Fills a deployment in `tmp` and closes it; returns its global
/// environment's directory.
std::string filled_environment(const test::temp_dir& tmp) {
  auto settings = test::test_settings();
  settings.data_dir = tmp.path + "/data";
  {
    test::fixture fx{settings};
    fill(fx);
  }
  return settings.data_dir + "/global";
}

/// Every object's dump, in object order.
std::vector<std::string> dump_all(durable::object_namespace<bin_api>& ns) {
  std::vector<std::string> result;
  for (int i = 0; i < objects; ++i) {
    auto reply = ns.jurisdiction(where(i))
                     .get_by_name(object_name(i))
                     .call(10s, dump_atom::value);
    result.push_back(reply ? *reply
                           : "error: " + durable::message_of(reply.error()));
  }
  return result;
}

enum outcome : int {
  read_back = 0,    // opened, every value as written
  wrong_values = 1, // opened, some value differs
  read_error = 2,   // opened, a read failed
  refused = 3,      // refused: storage failure
  other_error = 4,  // refused with another error
};

/// Opens the data directory in a forked child that reads everything back and
/// compares it with `expected`; the child's error text goes to `err_path`.
int open_in_child(const durable::settings& s,
                  const std::vector<std::string>& expected,
                  const std::string& err_path) {
  auto pid = ::fork();
  if (pid == 0) {
    // Boost.Test turns SIGSEGV and friends into a failure report and exit
    // code 201: let them end the child as signals.
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM})
      ::signal(sig, SIG_DFL);
    ::alarm(30); // a hang ends as SIGALRM: a failure like any signal
    int code = other_error;
    std::string text;
    {
      durable::config cfg;
      cfg.set("scheduler.max-threads", 2);
      caf::actor_system sys{cfg};
      auto dep = durable::deployment::open(sys, s);
      if (!dep) {
        code = durable::is(dep.error(), durable::errc::storage_failure)
                   ? refused
                   : other_error;
        text = durable::message_of(dep.error());
      } else {
        auto ns = dep->bind<bin>("bin");
        if (!ns) {
          code = durable::is(ns.error(), durable::errc::storage_failure)
                     ? refused
                     : other_error;
          text = durable::message_of(ns.error());
        }
        auto got = ns ? dump_all(*ns) : expected;
        if (ns)
          code = got == expected ? read_back : wrong_values;
        for (auto& x : got)
          if (x.rfind("error: ", 0) == 0) {
            code = read_error;
            text = x;
          }
      }
    }
    std::ofstream{err_path} << text;
    std::fflush(nullptr);
    ::_exit(code);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid)
    return -1000;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream{path, std::ios::binary | std::ios::trunc} << bytes;
}

enum pattern : int { random_bytes, zeroes, own_header, other_page };

const char* pattern_names[] = {"random bytes", "zeroes",
                               "own header over random bytes",
                               "copy of another page"};

/// Page `pg` of `file` (`psize` bytes per page) overwritten with `p`.
std::string damaged(const std::string& file, size_t psize, size_t pg,
                    pattern p) {
  auto pages = file.size() / psize;
  std::string out = file;
  std::mt19937_64 rng{pg * 4 + p};
  std::string page(psize, '\0');
  if (p == random_bytes || p == own_header)
    for (auto& c : page)
      c = static_cast<char>(rng());
  if (p == own_header)
    page.replace(0, 16, file, pg * psize, 16);
  if (p == other_page)
    page = file.substr(((pg * 7 + 3) % pages) * psize, psize);
  out.replace(pg * psize, psize, page);
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(damaged_pages_are_refused_never_crash) {
  test::temp_dir tmp;
  auto settings = test::test_settings();
  settings.data_dir = tmp.path + "/data";
  std::vector<std::string> expected;
  {
    test::fixture fx{settings};
    auto ns = fill(fx);
    expected = dump_all(ns);
  }
  BOOST_REQUIRE_EQUAL(expected.size(), size_t{objects});
  for (auto& x : expected)
    BOOST_REQUIRE(!x.empty() && x.rfind("error: ", 0) != 0);
  auto dir = settings.data_dir + "/global";
  auto path = dir + "/data.mdb";
  // What each page of the pristine file holds, as the walk sees it.
  std::map<size_t, durable::detail::page_role> role;
  std::map<size_t, bool> value_page; // an overflow page past its header
  BOOST_REQUIRE(!durable::detail::check_data_file(
      "global", dir, true, [&](uint64_t first, uint64_t n, auto r) {
        for (auto p = first; p < first + n; ++p) {
          role[p] = r;
          value_page[p] = r == durable::detail::page_role::overflow;
        }
        value_page[first] = false;
      }));
  auto pristine = test::slurp(path);
  constexpr size_t psize = 4096;
  BOOST_REQUIRE_EQUAL(pristine.size() % psize, 0u);
  auto pages = pristine.size() / psize;
  size_t branches = 0;
  size_t overflows = 0;
  for (auto& [pg, r] : role) {
    branches += r == durable::detail::page_role::branch;
    overflows += r == durable::detail::page_role::overflow;
  }
  BOOST_TEST_MESSAGE(pages << " pages: " << role.size() << " in use ("
                           << branches << " branch, " << overflows
                           << " overflow)");
  BOOST_REQUIRE_GT(branches, 0u);
  BOOST_REQUIRE_GT(overflows, 0u);
  BOOST_REQUIRE_LT(role.size() + 2, pages); // some pages are free
  auto err_path = tmp.path + "/child-error";
  std::map<std::string, std::map<std::string, int>> tally;
  for (int p = random_bytes; p <= other_page; ++p) {
    for (size_t pg = 2; pg < pages; ++pg) {
      auto bytes = damaged(pristine, psize, pg, static_cast<pattern>(p));
      if (bytes == pristine)
        continue;
      write_all(path, bytes);
      auto code = open_in_child(settings, expected, err_path);
      auto text = test::slurp(err_path);
      auto used = role.count(pg) != 0;
      auto kind = !used            ? "free page"
                  : value_page[pg] ? "value page"
                  : role[pg] == durable::detail::page_role::overflow
                      ? "overflow header"
                      : "tree page";
      BOOST_TEST_CONTEXT(pattern_names[p] << " on page " << pg << " (" << kind
                                          << "): " << code << " " << text) {
        // Never a signal, never a hang, never another error.
        BOOST_CHECK_GE(code, 0);
        BOOST_CHECK(code == read_back || code == refused ||
                    code == wrong_values);
        // A value's own bytes carry no checksum in LMDB: damage there can
        // only show as a different value (and the header-keeping pattern
        // leaves an overflow run's header intact).
        if (code == wrong_values)
          BOOST_CHECK(value_page[pg] ||
                      (p == own_header && role.count(pg) != 0 &&
                       role[pg] == durable::detail::page_role::overflow));
        // Pages in use are refused, naming the page.
        if (used && !value_page[pg] &&
            !(p == own_header &&
              role[pg] == durable::detail::page_role::overflow)) {
          BOOST_CHECK_EQUAL(code, refused);
          BOOST_CHECK(text.find("has a damaged page " + std::to_string(pg) +
                                " ") != std::string::npos);
        }
        // A free page is not read at all.
        if (!used)
          BOOST_CHECK_EQUAL(code, read_back);
      }
      ++tally[pattern_names[p]]
             [std::string{kind} + " -> " + std::to_string(code)];
      // durable-admin on every fourth case: the same verdict (exit 3 for a
      // storage failure), never a signal.
      if ((pg + p) % 4 == 0) {
        auto res = test::run_process(
            {ADMIN_BINARY, "--data-dir", settings.data_dir, "stats"}, tmp.path,
            {}, 30);
        BOOST_TEST_CONTEXT("durable-admin on page " << pg << ": " << res.code
                                                    << " " << res.err) {
          BOOST_CHECK_EQUAL(res.code, code == refused ? 3 : 0);
          if (code == refused)
            BOOST_CHECK(res.err.find("has a damaged page " +
                                     std::to_string(pg) + " ") !=
                        std::string::npos);
        }
        ++tally[pattern_names[p]]["admin -> " + std::to_string(res.code)];
      }
    }
  }
  for (auto& [p, counts] : tally)
    for (auto& [what, n] : counts)
      BOOST_TEST_MESSAGE(p << ": " << what << ": " << n);
  write_all(path, pristine);
  BOOST_CHECK_EQUAL(open_in_child(settings, expected, err_path), read_back);
}

BOOST_AUTO_TEST_CASE(check_data_file_meta_skips_the_walk) {
  // The option: full by default, meta on request, anything else refused.
  auto parse = [](const char* value) {
    durable::config cfg;
    if (value != nullptr)
      cfg.set("durable.check-data-file", value);
    return durable::settings::from_config(cfg);
  };
  BOOST_CHECK(parse(nullptr)->check_data_file ==
              durable::data_file_check::full);
  BOOST_CHECK(parse("full")->check_data_file == durable::data_file_check::full);
  BOOST_CHECK(parse("meta")->check_data_file == durable::data_file_check::meta);
  auto bad = parse("fast");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK(durable::is(bad.error(), durable::errc::invalid_argument));
  // A large value's first page zeroed: LMDB reads it only with the value,
  // so a meta-only check opens the file; the full check refuses it.
  test::temp_dir tmp;
  auto dir = filled_environment(tmp);
  uint64_t value_start = 0;
  BOOST_REQUIRE(!durable::detail::check_data_file(
      "global", dir, true, [&](uint64_t first, uint64_t n, auto r) {
        if (r == durable::detail::page_role::overflow && n >= 3)
          value_start = first;
      }));
  BOOST_REQUIRE_GT(value_start, 0u);
  int fd = ::open((dir + "/data.mdb").c_str(), O_WRONLY);
  BOOST_REQUIRE(fd >= 0);
  std::string zeroes(4096, '\0');
  BOOST_REQUIRE_EQUAL(::pwrite(fd, zeroes.data(), zeroes.size(),
                               static_cast<off_t>(value_start * 4096)),
                      4096);
  ::close(fd);
  auto settings = test::test_settings();
  settings.data_dir = tmp.path + "/data";
  auto open = [&](durable::data_file_check mode) {
    settings.check_data_file = mode;
    durable::config cfg;
    caf::actor_system sys{cfg};
    auto dep = durable::deployment::open(sys, settings);
    return dep ? caf::error{} : std::move(dep.error());
  };
  BOOST_CHECK(!open(durable::data_file_check::meta));
  auto err = open(durable::data_file_check::full);
  BOOST_CHECK(durable::is(err, durable::errc::storage_failure));
  BOOST_CHECK_MESSAGE(durable::message_of(err).find(
                          "has a damaged page " + std::to_string(value_start) +
                          " ") != std::string::npos,
                      durable::message_of(err));
}

BOOST_AUTO_TEST_CASE(a_file_cut_before_its_tree_roots_is_refused) {
  // LMDB may leave the file shorter than its last page (a page freed in the
  // transaction that allocated it is never written), so only reachable
  // pages count: cut to its two meta pages, the roots are gone.
  test::temp_dir tmp;
  auto dir = filled_environment(tmp);
  BOOST_REQUIRE_EQUAL(::truncate((dir + "/data.mdb").c_str(), 2 * 4096), 0);
  for (bool walk : {false, true}) {
    auto err = durable::detail::check_data_file("global", dir, walk, {});
    BOOST_REQUIRE(err);
    BOOST_CHECK_MESSAGE(durable::message_of(err).find("is truncated") !=
                            std::string::npos,
                        durable::message_of(err));
  }
}
