// durable-admin: the registry that migrate and namespaces list work on.

#include <cstdlib>
#include <filesystem>

#include <sys/stat.h>

#include "cli.hpp"
#include "durable/errc.hpp"
#include "durable/etcd_registry.hpp"

namespace admin {

namespace {

constexpr auto etcd_timeout = std::chrono::seconds{5};

} // namespace

caf::expected<std::unique_ptr<registry_view>>
registry_view::open(const options& opts, bool write) {
  std::unique_ptr<registry_view> result{new registry_view};
  auto where = opts;
  if (!opts.etcd_endpoints.empty()) {
    write = true; // The mirror is written.
    if (!opts.data_dir_given) {
      char tmpl[] = "/tmp/durable-admin-XXXXXX";
      if (::mkdtemp(tmpl) == nullptr)
        return durable::make_error(durable::errc::storage_failure,
                                   "cannot make a temporary directory");
      result->temp_dir_ = tmpl;
      where.data_dir = tmpl;
    } else if (::mkdir(opts.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return durable::make_error(durable::errc::storage_failure,
                                 "cannot make data directory '" +
                                     opts.data_dir + "'");
    }
  }
  auto engine = open_engine(where, write);
  if (!engine)
    return std::move(engine.error());
  result->engine_ = std::move(*engine);
  result->local_ =
      std::make_unique<durable::namespace_registry>(result->engine_);
  if (opts.etcd_endpoints.empty())
    return result;
  auto log = durable::cluster::etcd_registry_log(opts.etcd_endpoints,
                                                 etcd_timeout, opts.cluster);
  if (!log)
    return std::move(log.error());
  result->shared_ = std::make_unique<durable::shared_registry>(*result->local_,
                                                               std::move(*log));
  if (auto err = result->shared_->mirror())
    return err;
  return result;
}

registry_view::~registry_view() {
  shared_.reset();
  local_.reset();
  if (engine_)
    engine_->shutdown();
  engine_.reset();
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

} // namespace admin
