#include "core/thread_pool.h"

namespace cartsense {

ThreadPool::ThreadPool(std::size_t threads, std::size_t queue_capacity)
    : tasks_(queue_capacity, OverflowPolicy::kBlock) {
  if (threads == 0) threads = 1;
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    workers_.emplace_back([this] {
      while (auto task = tasks_.Pop()) (*task)();
    });
  }
}

ThreadPool::~ThreadPool() {
  tasks_.Close();  // workers drain what is queued, then exit
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::ParallelFor(std::size_t count, const std::function<void(std::size_t)>& body) {
  std::vector<std::future<void>> pending;
  pending.reserve(count);
  for (std::size_t i = 0; i < count; ++i) pending.push_back(Submit([&body, i] { body(i); }));
  for (auto& f : pending) f.get();
}

}  // namespace cartsense
