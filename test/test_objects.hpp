#pragma once

// Object classes and fixtures shared by the runtime test suites.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/fetch.hpp"
#include "durable/object.hpp"

namespace test {

using inc_atom = caf::atom_constant<caf::atom("inc")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using throw_atom = caf::atom_constant<caf::atom("throw")>;
using sleep_atom = caf::atom_constant<caf::atom("sleep")>;
using call_atom = caf::atom_constant<caf::atom("call")>;
using hint_atom = caf::atom_constant<caf::atom("hint")>;

using counter_api =
    caf::typed_actor<caf::replies_to<inc_atom>::with<int64_t>,
                     caf::replies_to<get_atom>::with<int64_t>,
                     caf::replies_to<throw_atom>::with<int64_t>,
                     caf::replies_to<sleep_atom, int>::with<int64_t>,
                     caf::replies_to<hint_atom>::with<std::string>,
                     durable::fetch_signature>;

using counter_stub = durable::stub<counter_api>;

/// Per-ID bookkeeping that outlives object instances.
struct registry {
  std::mutex mtx;
  std::map<durable::object_id, int> constructed;
  std::map<durable::object_id, int> busy;
  std::atomic<int> overlaps{0};
  std::atomic<int64_t> handled{0};

  static registry& get() {
    static registry instance;
    return instance;
  }

  int constructions(const durable::object_id& id) {
    std::lock_guard<std::mutex> guard{mtx};
    return constructed[id];
  }

  void reset() {
    std::lock_guard<std::mutex> guard{mtx};
    constructed.clear();
    busy.clear();
    overlaps = 0;
    handled = 0;
  }
};

/// Detects two instances of one ID handling messages at the same time.
class busy_scope {
public:
  explicit busy_scope(const durable::object_id& id) : id_(id) {
    auto& reg = registry::get();
    std::lock_guard<std::mutex> guard{reg.mtx};
    if (++reg.busy[id_] != 1)
      ++reg.overlaps;
  }
  ~busy_scope() {
    auto& reg = registry::get();
    std::lock_guard<std::mutex> guard{reg.mtx};
    --reg.busy[id_];
    ++reg.handled;
  }

private:
  durable::object_id id_;
};

/// An in-memory counter (no storage) with a few misbehaving handlers.
class counter : public durable::object<counter_api> {
public:
  counter(caf::actor_config& cfg, durable::object_context ctx)
      : object(cfg, std::move(ctx)) {
    auto& reg = registry::get();
    std::lock_guard<std::mutex> guard{reg.mtx};
    ++reg.constructed[id()];
  }

  behavior_type make_behavior() override {
    return {
        [this](inc_atom) {
          busy_scope scope{id()};
          return ++value_;
        },
        [this](get_atom) {
          busy_scope scope{id()};
          return value_;
        },
        [this](throw_atom) -> int64_t {
          busy_scope scope{id()};
          throw std::runtime_error("boom from " + id().name());
        },
        [this](sleep_atom, int ms) {
          busy_scope scope{id()};
          std::this_thread::sleep_for(std::chrono::milliseconds{ms});
          return value_;
        },
        [this](hint_atom) { return std::string{to_string(hint())}; },
        [this](durable::fetch_request& req) {
          busy_scope scope{id()};
          auto resp = durable::make_text_response(
              200, req.method + " " + req.url + " " + req.body);
          if (auto tag = req.header("X-Tag"))
            resp.headers.emplace_back("x-tag", *tag);
          resp.headers.emplace_back("x-object", id().name());
          return resp;
        },
    };
  }

private:
  int64_t value_ = 0;
};

using write_atom = caf::atom_constant<caf::atom("write")>;
using die_atom = caf::atom_constant<caf::atom("die")>;

using writer_api =
    caf::typed_actor<caf::replies_to<write_atom, int64_t>::with<int64_t>,
                     caf::replies_to<get_atom>::with<int64_t>,
                     caf::reacts_to<die_atom>>;

/// Stores every value it is sent ("last"); replies leave after the fsync.
class writer : public durable::object<writer_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](write_atom, int64_t x) {
          storage().put_value("last", x);
          return x;
        },
        [this](get_atom) {
          auto x = storage().get_value<int64_t>("last");
          return x && *x ? **x : int64_t{-1};
        },
        [this](die_atom) {
          // Lets requests pile up, then ends abnormally with them queued.
          std::this_thread::sleep_for(std::chrono::milliseconds{100});
          quit(caf::sec::runtime_error);
        },
    };
  }
};

using relay_api =
    caf::typed_actor<caf::replies_to<call_atom, counter_stub>::with<int64_t>>;

/// Calls another object through a stub it receives in a message.
class relay : public durable::object<relay_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](call_atom, const counter_stub& target)
            -> caf::typed_response_promise<int64_t> {
          auto rp = make_gated_promise<int64_t>();
          target.request(this, std::chrono::seconds{10}, inc_atom::value)
              .then([rp](int64_t x) mutable { rp.deliver(x * 1000); },
                    [rp](caf::error& err) mutable {
                      rp.deliver(std::move(err));
                    });
          return rp;
        },
    };
  }
};

/// A fresh directory under /tmp, removed when the scope ends.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/durable-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::string cmd = "rm -rf '" + path + "'";
    if (std::system(cmd.c_str()) != 0)
      std::fprintf(stderr, "cannot remove %s\n", path.c_str());
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// A fixed secret so that IDs are reproducible across runs; the data
/// directory is filled in by the fixture.
inline durable::settings test_settings() {
  durable::settings cfg;
  cfg.data_dir = "";
  cfg.secret_hex = std::string(64, 'a');
  return cfg;
}

/// An actor system plus an open deployment.
struct fixture {
  temp_dir dir;
  durable::config cfg;
  caf::actor_system sys;
  durable::deployment dep;

  explicit fixture(durable::settings s = test_settings())
      : sys(init(cfg)), dep(open(sys, with_dir(std::move(s), dir))) {
    registry::get().reset();
  }

  static durable::settings with_dir(durable::settings s, const temp_dir& d) {
    if (s.data_dir.empty())
      s.data_dir = d.path + "/data";
    return s;
  }

  static durable::config& init(durable::config& cfg) {
    cfg.set("scheduler.max-threads", 2);
    return cfg;
  }

  static durable::deployment open(caf::actor_system& sys, durable::settings s) {
    auto dep = durable::deployment::open(sys, std::move(s));
    if (!dep)
      throw std::runtime_error("cannot open deployment: " +
                               durable::message_of(dep.error()));
    return std::move(*dep);
  }

  template <class T>
  durable::object_namespace<typename T::interface_type>
  bind(const std::string& key, durable::namespace_options opts = {}) {
    auto ns = dep.bind<T>(key, opts);
    if (!ns)
      throw std::runtime_error("cannot bind: " +
                               durable::message_of(ns.error()));
    return *ns;
  }
};

/// Polls `pred` until it holds or `limit` passes.
template <class Pred>
bool eventually(Pred pred,
                std::chrono::milliseconds limit = std::chrono::seconds{10}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return true;
}

} // namespace test
