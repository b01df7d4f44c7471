#include "durable/errc.hpp"

#include <cstring>

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace durable {

const char* to_string(errc x) {
  switch (x) {
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::invalid_id:
    return "invalid_id";
  case errc::wrong_namespace:
    return "wrong_namespace";
  case errc::wrong_jurisdiction:
    return "wrong_jurisdiction";
  case errc::unsupported_jurisdiction:
    return "unsupported_jurisdiction";
  case errc::unsupported_location_hint:
    return "unsupported_location_hint";
  case errc::no_placement:
    return "no_placement";
  case errc::overloaded:
    return "overloaded";
  case errc::unavailable:
    return "unavailable";
  case errc::object_reset:
    return "object_reset";
  case errc::exception_thrown:
    return "exception_thrown";
  case errc::storage_full:
    return "storage_full";
  case errc::storage_failure:
    return "storage_failure";
  case errc::unsupported_message:
    return "unsupported_message";
  }
  return "unknown";
}

const char* default_message(errc x) {
  switch (x) {
  case errc::invalid_argument:
    return "invalid argument";
  case errc::invalid_id:
    return "Invalid Durable Object ID: must be 64 hex digits";
  case errc::wrong_namespace:
    return "Durable Object ID is not valid for this namespace.";
  case errc::wrong_jurisdiction:
    return "get called on jurisdictional subnamespace with an ID from a "
           "different jurisdiction";
  case errc::unsupported_jurisdiction:
    return "unsupported jurisdiction";
  case errc::unsupported_location_hint:
    return "unsupported location hint";
  case errc::no_placement:
    return "no placement for jurisdiction";
  case errc::overloaded:
    return "Durable Object is overloaded. Too many requests queued.";
  case errc::unavailable:
    return "Durable Object is temporarily unavailable";
  case errc::object_reset:
    return "Durable Object reset";
  case errc::exception_thrown:
    return "Durable Object threw an exception";
  case errc::storage_full:
    return "Durable Object storage is full";
  case errc::storage_failure:
    return "Durable Object storage failed";
  case errc::unsupported_message:
    return "Durable Object does not handle this message";
  }
  return "unknown error";
}

caf::error make_error(errc x) {
  return make_error(x, default_message(x));
}

caf::error make_error(errc x, std::string what) {
  return caf::error{static_cast<uint8_t>(x), durable_category,
                    caf::make_message(std::move(what))};
}

caf::error make_os_error(std::string_view context, const char* what,
                         const std::string& path, int err) {
  std::string text{context};
  text += ": cannot ";
  text += what;
  text += " '";
  text += path;
  text += "': ";
  text += std::strerror(err);
  return make_error(errc::storage_failure, std::move(text));
}

bool is(const caf::error& err, errc x) {
  // CAF 0.17 reads through a null pointer for the category of "no error".
  return err && err.category() == durable_category &&
         err.code() == static_cast<uint8_t>(x);
}

caf::error with_context(const caf::error& err, std::string_view prefix) {
  if (!err)
    return err;
  std::string text{prefix};
  text += message_of(err);
  return caf::error{err.code(), err.category(),
                    caf::make_message(std::move(text))};
}

std::string message_of(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() == durable_category) {
    auto& ctx = err.context();
    if (ctx.match_elements<std::string>())
      return ctx.get_as<std::string>(0);
    return default_message(static_cast<errc>(err.code()));
  }
  return caf::to_string(err);
}

bool is_retryable(const caf::error& err) {
  if (!err)
    return false;
  if (err.category() == durable_category)
    return is(err, errc::unavailable) || is(err, errc::object_reset);
  // A vanished receiver or a timeout is transient: the next call respawns.
  return err == caf::sec::request_receiver_down ||
         err == caf::sec::request_timeout;
}

bool is_overloaded(const caf::error& err) {
  return is(err, errc::overloaded);
}

bool is_remote(const caf::error& err) {
  return is(err, errc::exception_thrown);
}

bool is_object_reset(const caf::error& err) {
  return is(err, errc::object_reset);
}

bool is_storage_full(const caf::error& err) {
  return is(err, errc::storage_full);
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(durable_category,
                         [](uint8_t code, caf::atom_value,
                            const caf::message& ctx) -> std::string {
                           auto x = static_cast<errc>(code);
                           std::string result = "durable::";
                           result += to_string(x);
                           result += ": ";
                           if (ctx.match_elements<std::string>())
                             result += ctx.get_as<std::string>(0);
                           else
                             result += default_message(x);
                           return result;
                         });
}

} // namespace durable
