// `durable-admin backup` and `restore` with real processes and real LMDB
// files: a backup taken while the counter example writes, the writer killed
// with -9, the backup restored and read back; and the refusals (non-empty
// targets, damaged backups, another secret, unreadable data directories).

#define BOOST_TEST_MODULE backup
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "durable/backup.hpp"
#include "process.hpp"
#include "test_objects.hpp"

#ifndef ADMIN_BINARY
#error "ADMIN_BINARY must name the durable-admin executable"
#endif
#ifndef COUNTER_BINARY
#error "COUNTER_BINARY must name the counter example"
#endif

using namespace std::chrono_literals;
using test::run_result;
using test::temp_dir;

namespace {

constexpr int objects = 16;

constexpr int inflight = 64;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

run_result admin(const std::string& work, std::vector<std::string> args,
                 std::vector<std::string> env = {}) {
  args.insert(args.begin(), ADMIN_BINARY);
  return test::run_process(std::move(args), work, std::move(env));
}

/// Runs `counter --dump` on `data`; the values by object name, or the
/// failure in `err`.
std::map<std::string, long long> dump(const std::string& work,
                                      const std::string& data,
                                      run_result* res_out = nullptr) {
  auto res = test::run_process({COUNTER_BINARY, "--data-dir", data, "--objects",
                                std::to_string(objects), "--dump"},
                               work);
  std::map<std::string, long long> result;
  std::istringstream in{res.out};
  std::string tag, name;
  long long value;
  while (in >> tag >> name >> value)
    if (tag == "value")
      result[name] = value;
  if (res_out != nullptr)
    *res_out = res;
  return result;
}

/// The ack lines of a running `counter`, read on a thread of their own:
/// the highest acknowledged value per object, and how many acks each object
/// got since the last `mark()`.
class ack_reader {
public:
  explicit ack_reader(FILE* out) : thread_([this, out] { run(out); }) {
    // nop
  }

  ~ack_reader() {
    if (thread_.joinable())
      thread_.join();
  }

  std::map<std::string, long long> highest() {
    std::lock_guard<std::mutex> guard{mtx_};
    return highest_;
  }

  size_t total() {
    std::lock_guard<std::mutex> guard{mtx_};
    return total_;
  }

  void mark() {
    std::lock_guard<std::mutex> guard{mtx_};
    since_mark_.clear();
  }

  /// Waits until every object got `n` acks since the mark (false: the
  /// counter stopped or a minute passed).
  bool await_each(size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, 60s, [&] {
      if (eof_)
        return true;
      if (since_mark_.size() < static_cast<size_t>(objects))
        return false;
      for (auto& [name, count] : since_mark_)
        if (count < n)
          return false;
      return true;
    }) && !eof_;
  }

  /// Waits for `n` acks in total.
  bool await_total(size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, 60s, [&] { return eof_ || total_ >= n; }) &&
           !eof_;
  }

  void join() { thread_.join(); }

private:
  void run(FILE* out) {
    char line[256];
    while (std::fgets(line, sizeof(line), out) != nullptr) {
      char name[128];
      long long value = 0;
      if (std::sscanf(line, "ack %127s %lld", name, &value) != 2)
        continue;
      std::lock_guard<std::mutex> guard{mtx_};
      auto& high = highest_[name];
      high = std::max(high, value);
      ++since_mark_[name];
      ++total_;
      cv_.notify_all();
    }
    std::fclose(out);
    std::lock_guard<std::mutex> guard{mtx_};
    eof_ = true;
    cv_.notify_all();
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<std::string, long long> highest_;
  std::map<std::string, size_t> since_mark_;
  size_t total_ = 0;
  bool eof_ = false;
  std::thread thread_;
};

/// A data directory written by a finished `counter` run.
struct counted {
  temp_dir tmp;
  std::string data = tmp.path + "/data";
  std::map<std::string, long long> values;

  counted() {
    auto res = test::run_process({COUNTER_BINARY, "--data-dir", data,
                                  "--objects", std::to_string(objects),
                                  "--increments", "400", "--quiet"},
                                 tmp.path);
    BOOST_REQUIRE_EQUAL(res.code, 0);
    values = dump(tmp.path, data);
    BOOST_REQUIRE_EQUAL(values.size(), static_cast<size_t>(objects));
  }

  run_result run(std::vector<std::string> args,
                 std::vector<std::string> env = {}) const {
    return admin(tmp.path, std::move(args), std::move(env));
  }

  std::string path(const std::string& name) const {
    return tmp.path + "/" + name;
  }

  /// Names in the work directory (what a failed command left behind).
  std::vector<std::string> entries() const {
    std::vector<std::string> result;
    for (auto& e : std::filesystem::directory_iterator{tmp.path})
      result.push_back(e.path().filename().string());
    std::sort(result.begin(), result.end());
    return result;
  }
};

void truncate_file(const std::string& path, off_t size) {
  BOOST_REQUIRE_EQUAL(::truncate(path.c_str(), size), 0);
}

std::string sha256sum(const std::string& path) {
  auto* p = ::popen(("sha256sum '" + path + "'").c_str(), "r");
  BOOST_REQUIRE(p != nullptr);
  char buf[65] = {};
  auto n = std::fread(buf, 1, 64, p);
  ::pclose(p);
  BOOST_REQUIRE_EQUAL(n, 64u);
  return buf;
}

void overwrite(const std::string& path, off_t offset, const std::string& x) {
  std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
  f.seekp(offset);
  f.write(x.data(), static_cast<std::streamsize>(x.size()));
  BOOST_REQUIRE(f.good());
}

} // namespace

BOOST_AUTO_TEST_CASE(backup_under_write_load_restores_what_was_acknowledged) {
  temp_dir tmp;
  auto data = tmp.path + "/data";
  FILE* out = nullptr;
  auto pid = test::spawn_piped(
      {COUNTER_BINARY, "--data-dir", data, "--objects", std::to_string(objects),
       "--increments", "1000000000", "--inflight", std::to_string(inflight)},
      out, tmp.path + "/counter.err");
  BOOST_REQUIRE(pid > 0 && out != nullptr);
  ack_reader acks{out};
  BOOST_REQUIRE_MESSAGE(acks.await_total(2000), "the counter does not run");
  // Acknowledged before the backup starts: every one must be in it.
  auto before = acks.highest();
  auto total_before = acks.total();
  auto res = admin(tmp.path, {"--data-dir", data, "backup",
                              tmp.path + "/backup", "--include-secret"});
  auto total_after = acks.total();
  BOOST_REQUIRE_MESSAGE(res.code == 0, res.err);
  BOOST_CHECK(contains(res.out, "global/data.mdb"));
  BOOST_CHECK(contains(res.out, "secret file is included"));
  // The load kept going while the backup ran.
  BOOST_CHECK_GT(total_after, total_before);
  // A value in the backup was committed before the backup ended, but may
  // have been acknowledged only after it (commit comes first). At most
  // `inflight` requests were unanswered when it ended, and each object
  // answers in commit order: once every object answered inflight + 1 more,
  // each answered everything it committed before the end.
  acks.mark();
  BOOST_REQUIRE_MESSAGE(acks.await_each(inflight + 1),
                        "the counter stopped acknowledging");
  auto after = acks.highest();
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_REQUIRE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  acks.join();
  // Restore into a new directory and read every object back.
  auto restored = tmp.path + "/restored";
  auto rr = admin(tmp.path, {"restore", tmp.path + "/backup", restored});
  BOOST_REQUIRE_MESSAGE(rr.code == 0, rr.err);
  BOOST_CHECK(contains(rr.out, "the deployment secret was restored"));
  BOOST_CHECK(contains(rr.out, "matches the data directory"));
  run_result dr;
  auto values = dump(tmp.path, restored, &dr);
  BOOST_REQUIRE_MESSAGE(values.size() == static_cast<size_t>(objects), dr.err);
  // The original directory after kill -9: never behind the backup.
  auto final_values = dump(tmp.path, data);
  BOOST_REQUIRE_EQUAL(final_values.size(), static_cast<size_t>(objects));
  long long sum = 0;
  for (int i = 0; i < objects; ++i) {
    auto name = "counter-" + std::to_string(i);
    auto v = values[name];
    sum += v;
    BOOST_CHECK_MESSAGE(v >= before[name], name << ": backup has " << v
                                                << ", acknowledged before "
                                                << before[name]);
    BOOST_CHECK_MESSAGE(v <= after[name], name << ": backup has " << v
                                               << ", acknowledged by its end "
                                               << after[name]);
    BOOST_CHECK_LE(v, final_values[name]);
  }
  BOOST_CHECK_GT(sum, 0);
  // The backup itself passes its checks (manifest, SHA-256, data files).
  auto m = durable::verify_backup(tmp.path + "/backup");
  BOOST_REQUIRE_MESSAGE(m, (m ? "" : durable::message_of(m.error())));
  BOOST_CHECK(m->environments == std::vector<std::string>{"global"});
}

BOOST_AUTO_TEST_CASE(targets_must_be_new_or_empty) {
  counted c;
  // A non-empty backup target is refused and left alone.
  auto full = c.path("full");
  ::mkdir(full.c_str(), 0700);
  std::ofstream{full + "/keep"} << "mine";
  auto res = c.run({"--data-dir", c.data, "backup", full});
  BOOST_CHECK_EQUAL(res.code, 2);
  BOOST_CHECK_MESSAGE(contains(res.err, "is not empty"), res.err);
  BOOST_CHECK_EQUAL(test::slurp(full + "/keep"), "mine");
  BOOST_CHECK_EQUAL(std::distance(std::filesystem::directory_iterator{full},
                                  std::filesystem::directory_iterator{}),
                    1);
  // An empty directory is fine; no staging directory remains beside it.
  auto empty = c.path("empty");
  ::mkdir(empty.c_str(), 0700);
  res = c.run({"--data-dir", c.data, "backup", empty, "--json"});
  BOOST_REQUIRE_MESSAGE(res.code == 0, res.err);
  BOOST_CHECK(contains(res.out, "\"secret_included\":false"));
  BOOST_CHECK(std::ifstream{empty + "/manifest.json"});
  BOOST_CHECK(!std::ifstream{empty + "/secret"});
  for (auto& e : c.entries())
    BOOST_CHECK_MESSAGE(e[0] != '.', "left behind: " << e);
  // The same target again: now it holds a backup.
  res = c.run({"--data-dir", c.data, "backup", empty});
  BOOST_CHECK_EQUAL(res.code, 2);
  BOOST_CHECK(contains(res.err, "is not empty"));
  // Restore into a non-empty directory: refused, untouched.
  res = c.run({"restore", empty, full});
  BOOST_CHECK_EQUAL(res.code, 2);
  BOOST_CHECK(contains(res.err, "is not empty"));
  BOOST_CHECK_EQUAL(test::slurp(full + "/keep"), "mine");
  // Restore into the live data directory: refused as well.
  res = c.run({"restore", empty, c.data});
  BOOST_CHECK_EQUAL(res.code, 2);
  // --data-dir has no meaning for restore.
  res = c.run({"--data-dir", c.data, "restore", empty, c.path("x")});
  BOOST_CHECK_EQUAL(res.code, 1);
  // Without the secret in the backup, the restored directory needs the
  // original one: a server with another refuses to start.
  auto restored = c.path("restored");
  res = c.run({"restore", empty, restored});
  BOOST_REQUIRE_MESSAGE(res.code == 0, res.err);
  BOOST_CHECK(contains(res.out, "the deployment secret is not included"));
  run_result dr;
  BOOST_CHECK(dump(c.tmp.path, restored, &dr).empty());
  BOOST_CHECK_MESSAGE(contains(dr.err, "deployment secret differs"), dr.err);
  std::filesystem::copy_file(c.data + "/secret", restored + "/secret",
                             std::filesystem::copy_options::overwrite_existing);
  BOOST_CHECK(dump(c.tmp.path, restored) == c.values);
}

BOOST_AUTO_TEST_CASE(damaged_backups_are_refused) {
  counted c;
  auto good = c.path("good");
  auto res = c.run({"--data-dir", c.data, "backup", good, "--include-secret"});
  BOOST_REQUIRE_MESSAGE(res.code == 0, res.err);
  auto copy_of_good = [&](const std::string& name) {
    auto dir = c.path(name);
    std::filesystem::copy(good, dir, std::filesystem::copy_options::recursive);
    return dir;
  };
  struct damage {
    std::string what;
    std::function<void(const std::string&)> apply;
    std::string expected;
    int code;
  };
  auto data_mdb = [](const std::string& dir) {
    return dir + "/global/data.mdb";
  };
  std::vector<damage> cases{
      {"truncated", [&](auto& d) { truncate_file(data_mdb(d), 8192); },
       "(truncated?)", 3},
      {"a page overwritten",
       [&](auto& d) { overwrite(data_mdb(d), 2 * 4096 + 100, "garbage"); },
       "does not match its SHA-256", 3},
      {"a damaged page, manifest updated to match",
       [&](auto& d) {
         auto file = data_mdb(d);
         auto before = sha256sum(file);
         overwrite(file, 2 * 4096, std::string(16, '\xff'));
         auto text = test::slurp(d + "/manifest.json");
         auto at = text.find(before);
         BOOST_REQUIRE(at != std::string::npos);
         text.replace(at, before.size(), sha256sum(file));
         std::ofstream{d + "/manifest.json", std::ios::trunc} << text;
       },
       "has a damaged page 2", 3},
      {"data file missing",
       [&](auto& d) { std::filesystem::remove(data_mdb(d)); }, "cannot open",
       3},
      {"no manifest (cut short)",
       [&](auto& d) { std::filesystem::remove(d + "/manifest.json"); },
       "is not a complete backup", 2},
      {"manifest not JSON",
       [&](auto& d) { std::ofstream{d + "/manifest.json"} << "{\"format\":"; },
       "manifest is not valid", 3},
      {"manifest escapes the backup",
       [&](auto& d) {
         auto text = test::slurp(d + "/manifest.json");
         auto at = text.find("\"secret\"");
         BOOST_REQUIRE(at != std::string::npos);
         text.replace(at, 8, "\"../../etc/passwd\"");
         std::ofstream{d + "/manifest.json", std::ios::trunc} << text;
       },
       "invalid file \"../../etc/passwd\"", 3},
  };
  int n = 0;
  for (auto& d : cases) {
    BOOST_TEST_CONTEXT(d.what) {
      auto dir = copy_of_good("damaged" + std::to_string(n));
      auto target = c.path("restored" + std::to_string(n++));
      d.apply(dir);
      // The library's check on its own, then the tool.
      auto verified = durable::verify_backup(dir);
      BOOST_CHECK_MESSAGE(
          !verified &&
              contains(durable::message_of(verified.error()), d.expected),
          (verified ? "accepted" : durable::message_of(verified.error())));
      res = c.run({"restore", dir, target});
      BOOST_CHECK_EQUAL(res.code, d.code);
      BOOST_CHECK_MESSAGE(contains(res.err, d.expected), res.err);
      BOOST_CHECK(!std::filesystem::exists(target));
    }
  }
  for (auto& e : c.entries())
    BOOST_CHECK_MESSAGE(e[0] != '.', "left behind: " << e);
  // Another secret at hand than the backup's directory was made with.
  auto other = std::string(64, 'a');
  res = admin(c.tmp.path, {"restore", good, c.path("other")},
              {"DURABLE_SECRET=" + other});
  BOOST_CHECK_EQUAL(res.code, 2);
  BOOST_CHECK_MESSAGE(contains(res.err, "deployment secret differs"), res.err);
  BOOST_CHECK(!std::filesystem::exists(c.path("other")));
  // The good one still restores, with its secret, to the same values.
  res = c.run({"restore", good, c.path("fine")});
  BOOST_REQUIRE_MESSAGE(res.code == 0, res.err);
  BOOST_CHECK(dump(c.tmp.path, c.path("fine")) == c.values);
}

BOOST_AUTO_TEST_CASE(absent_or_unreadable_data_directories_fail_clearly) {
  counted c;
  auto res = c.run({"--data-dir", c.path("nowhere"), "backup", c.path("b1")});
  BOOST_CHECK_EQUAL(res.code, 2);
  BOOST_CHECK(contains(res.err, "no data directory"));
  BOOST_CHECK(!std::filesystem::exists(c.path("b1")));
  // A data file that cannot be read (a symlink loop: the tests may run as
  // root, who reads any file regardless of its mode).
  auto file = c.data + "/global/data.mdb";
  BOOST_REQUIRE_EQUAL(::rename(file.c_str(), (file + ".bak").c_str()), 0);
  BOOST_REQUIRE_EQUAL(::symlink("data.mdb", file.c_str()), 0);
  res = c.run({"--data-dir", c.data, "backup", c.path("b2")});
  BOOST_CHECK_EQUAL(res.code, 3);
  BOOST_CHECK_MESSAGE(contains(res.err, file), res.err);
  BOOST_CHECK(!std::filesystem::exists(c.path("b2")));
  // A data directory without any environment.
  auto bare = c.path("bare");
  ::mkdir(bare.c_str(), 0700);
  res = c.run({"--data-dir", bare, "backup", c.path("b3")});
  BOOST_CHECK_EQUAL(res.code, 2);
  BOOST_CHECK(contains(res.err, "holds no storage environment"));
  // --include-secret without a secret file.
  BOOST_REQUIRE_EQUAL(::unlink(file.c_str()), 0);
  BOOST_REQUIRE_EQUAL(::rename((file + ".bak").c_str(), file.c_str()), 0);
  res = c.run({"--data-dir", c.data, "--secret-file", c.path("nosecret"),
               "backup", c.path("b4"), "--include-secret"});
  BOOST_CHECK_EQUAL(res.code, 2);
  BOOST_CHECK(contains(res.err, "no deployment secret file"));
  for (auto& e : c.entries())
    BOOST_CHECK_MESSAGE(e[0] != '.', "left behind: " << e);
}

namespace {

using fill_atom = caf::atom_constant<caf::atom("fill")>;
using drop_atom = caf::atom_constant<caf::atom("drop")>;
using size_atom = caf::atom_constant<caf::atom("size")>;

using bulk_api =
    caf::typed_actor<caf::replies_to<fill_atom, int32_t>::with<bool>,
                     caf::replies_to<drop_atom>::with<bool>,
                     caf::replies_to<size_atom>::with<int64_t>>;

/// Stores large values and deletes them again: free pages for a
/// compacting copy to leave out.
class bulk : public durable::object<bulk_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](fill_atom, int32_t n) {
          for (int32_t i = 0; i < n; ++i)
            if (storage().put("v" + std::to_string(i),
                              std::string(100000, 'x')))
              return false;
          return true;
        },
        [this](drop_atom) { return !storage().delete_all(); },
        [this](size_atom) {
          auto xs = storage().list({});
          int64_t n = 0;
          if (xs)
            for (auto& [k, v] : *xs)
              n += static_cast<int64_t>(v.size());
          return n;
        },
    };
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(backups_are_compacted_and_taken_beside_a_deployment) {
  test::fixture fx;
  auto data = fx.dep.settings().data_dir;
  auto ns = fx.bind<bulk>("bulk");
  // 8 MB written and deleted again, then small objects kept (global, eu).
  for (int i = 0; i < 8; ++i)
    BOOST_REQUIRE(*ns.get_by_name("big-" + std::to_string(i))
                       .call(30s, fill_atom::value, int32_t{10}));
  for (int i = 0; i < 8; ++i)
    BOOST_REQUIRE(*ns.get_by_name("big-" + std::to_string(i))
                       .call(30s, drop_atom::value));
  auto kept = ns.get_by_name("kept");
  BOOST_REQUIRE(*kept.call(30s, fill_atom::value, int32_t{2}));
  auto eu = ns.jurisdiction(durable::jurisdiction::eu).get_by_name("kept");
  BOOST_REQUIRE(*eu.call(30s, fill_atom::value, int32_t{1}));
  auto source_size = std::filesystem::file_size(data + "/global/data.mdb");
  BOOST_REQUIRE_GT(source_size, 8'000'000u);
  // The deployment holds the directory: the tool reads beside it.
  auto res =
      admin(fx.dir.path, {"--data-dir", data, "backup", fx.dir.path + "/b"});
  BOOST_REQUIRE_MESSAGE(res.code == 0, res.err);
  auto copy_size =
      std::filesystem::file_size(fx.dir.path + "/b/global/data.mdb");
  BOOST_TEST_MESSAGE("data.mdb " << source_size << " bytes, backup "
                                 << copy_size << " bytes");
  // Compacted: the free pages of the deleted values are left out.
  BOOST_CHECK_LT(copy_size, 1'000'000u);
  BOOST_CHECK_GT(copy_size, 200'000u);
  // The restored directory holds the kept object.
  auto restored = fx.dir.path + "/restored";
  res = admin(fx.dir.path, {"restore", fx.dir.path + "/b", restored});
  BOOST_REQUIRE_MESSAGE(res.code == 0, res.err);
  auto show = admin(fx.dir.path, {"--data-dir", restored, "stats", "--json"});
  BOOST_CHECK_EQUAL(show.code, 0);
  BOOST_CHECK_MESSAGE(
      contains(show.out, "\"total\":{\"objects\":2,\"keys\":3,"), show.out);
  // Jurisdictions first, global last (a deletion half done is completed,
  // never undone: see durable/backup.hpp).
  auto m = durable::verify_backup(fx.dir.path + "/b");
  BOOST_REQUIRE(m);
  BOOST_CHECK((m->environments == std::vector<std::string>{"eu", "global"}));
  // In the deployment's own process: through its engine (LMDB allows one
  // handle per environment and process), while the objects keep writing.
  auto writes = std::async(std::launch::async, [&] {
    for (int i = 0; i < 20; ++i)
      if (!*kept.call(30s, fill_atom::value, int32_t{2}))
        return false;
    return true;
  });
  auto own = durable::make_backup(fx.dep.engine(), fx.dir.path + "/b2");
  BOOST_REQUIRE_MESSAGE(own, (own ? "" : durable::message_of(own.error())));
  BOOST_CHECK(writes.get());
  BOOST_CHECK(durable::verify_backup(fx.dir.path + "/b2"));
  BOOST_CHECK(
      durable::restore_backup(fx.dir.path + "/b2", fx.dir.path + "/restored2"));
}

BOOST_AUTO_TEST_CASE(a_backup_killed_midway_is_never_taken_for_a_whole_one) {
  test::fixture fx;
  auto data = fx.dep.settings().data_dir;
  auto ns = fx.bind<bulk>("bulk");
  // About 16 MB to copy, hash and check: a backup takes a while.
  for (int i = 0; i < 16; ++i)
    BOOST_REQUIRE(*ns.get_by_name("big-" + std::to_string(i))
                       .call(30s, fill_atom::value, int32_t{10}));
  size_t whole = 0, cut = 0;
  for (int round = 0; round < 8; ++round) {
    auto target = fx.dir.path + "/b" + std::to_string(round);
    FILE* out = nullptr;
    auto pid = test::spawn_piped(
        {ADMIN_BINARY, "--data-dir", data, "backup", target}, out);
    BOOST_REQUIRE(pid > 0);
    // Kill points spread over the backup's run (none of them asserted).
    ::usleep(static_cast<useconds_t>(round * round * 5000));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::fclose(out);
    if (std::filesystem::exists(target)) {
      // Renamed into place: whole, and it says so.
      ++whole;
      auto m = durable::verify_backup(target);
      BOOST_CHECK_MESSAGE(m, (m ? "" : durable::message_of(m.error())));
    } else {
      ++cut;
    }
    // Whatever a killed backup left is hidden and refused as incomplete.
    for (auto& e : std::filesystem::directory_iterator{fx.dir.path}) {
      auto name = e.path().filename().string();
      if (name.rfind(".b" + std::to_string(round) + ".partial-", 0) != 0)
        continue;
      auto m = durable::verify_backup(e.path().string());
      BOOST_CHECK(!m && contains(durable::message_of(m.error()),
                                 "is not a complete backup"));
      auto res = admin(fx.dir.path,
                       {"restore", e.path().string(), fx.dir.path + "/never"});
      BOOST_CHECK_EQUAL(res.code, 2);
      BOOST_CHECK(!std::filesystem::exists(fx.dir.path + "/never"));
    }
  }
  BOOST_TEST_MESSAGE(whole << " backups completed, " << cut << " cut short");
}
