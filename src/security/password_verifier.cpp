#include "security/password_verifier.hpp"

#include <openssl/crypto.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>

#include "security/password_hash.hpp"

namespace cgihost {
namespace {

// Verifications yield to the event loops when the CPU is short: a flood of guesses then slows
// itself down rather than the site (Linux applies a thread's nice value to that thread alone).
constexpr int kVerifierNiceness = 10;

}  // namespace

PasswordVerifier::PasswordVerifier(unsigned threads, size_t queue_capacity)
    : thread_count_(threads == 0 ? 1 : threads), capacity_(queue_capacity) {}

PasswordVerifier::~PasswordVerifier() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();
        under_way_.clear();
    }
    wake_.notify_all();
    for (std::thread& thread : threads_)
        thread.join();
}

bool PasswordVerifier::submit(std::string password, std::string hash, Done done) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return false;
        auto key = std::make_pair(std::move(hash), std::move(password));
        if (auto same = under_way_.find(key); same != under_way_.end()) {
            same->second->done.push_back(std::move(done));  // one check answers both
            return true;
        }
        if (queue_.size() >= capacity_) return false;
        if (threads_.empty()) {
            for (unsigned i = 0; i < thread_count_; ++i)
                threads_.emplace_back([this] { run(); });
        }
        auto job = std::make_shared<Job>();
        job->hash = key.first;
        job->password = key.second;
        job->done.push_back(std::move(done));
        under_way_.emplace(std::move(key), job);
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

uint64_t PasswordVerifier::verifications() const {
    std::lock_guard lock(mutex_);
    return verifications_;
}

void PasswordVerifier::run() {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kVerifierNiceness);
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = std::move(queue_.front());
            queue_.pop_front();
            ++verifications_;
        }
        const auto start = std::chrono::steady_clock::now();
        PasswordVerdict verdict;
        verdict.matched = verify_password(job->password, job->hash);
        verdict.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::vector<Done> done;
        {
            std::lock_guard lock(mutex_);
            under_way_.erase(std::make_pair(job->hash, job->password));
            done.swap(job->done);
        }
        OPENSSL_cleanse(job->password.data(), job->password.size());
        for (size_t i = 0; i < done.size(); ++i) {
            verdict.shared = i > 0;
            done[i](verdict);
        }
    }
}

}  // namespace cgihost
