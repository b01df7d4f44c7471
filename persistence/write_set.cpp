#include "durable/write_set.hpp"

#include "write_set_data.hpp"

namespace durable {

uint64_t write_set::seq() const noexcept {
  return data_ ? data_->seq : 0;
}

bool write_set::needs_confirmation() const noexcept {
  return data_ ? data_->needs_confirmation : false;
}

size_t write_set::size() const noexcept {
  return data_ ? data_->ops.size() : 0;
}

size_t write_set::byte_size() const noexcept {
  return data_ ? data_->byte_size : 0;
}

} // namespace durable
