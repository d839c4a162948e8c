// Uninitialized scratch arrays for kernels.
//
// std::vector::resize zero-fills (a full extra write pass) and fresh pages
// fault in 4 KiB at a time; for the multi-megabyte sort buffers both cost as
// much as the sort itself. Large buffers are therefore 2 MiB-aligned and
// advised as huge pages (as numpy does for its own large arrays).
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace emd {

template <class T>
class Buffer {
    static_assert(std::is_trivially_copyable_v<T>, "Buffer holds plain data");

   public:
    Buffer() = default;
    explicit Buffer(std::size_t n) { resize(n); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_), capacity_(o.capacity_) {
        o.data_ = nullptr;
        o.size_ = o.capacity_ = 0;
    }
    ~Buffer() { std::free(data_); }

    // Contents are unspecified after a resize that grows the capacity.
    void resize(std::size_t n) {
        size_ = n;
        if (n <= capacity_) return;
        std::free(data_);
        data_ = nullptr;
        capacity_ = 0;
        const std::size_t bytes = n * sizeof(T);
        constexpr std::size_t huge = std::size_t(2) << 20;
        const std::size_t align = bytes >= 2 * huge ? huge : 64;
        const std::size_t rounded = (bytes + align - 1) / align * align;
        void* p = std::aligned_alloc(align, rounded);
        if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (align == huge) madvise(p, rounded, MADV_HUGEPAGE);
#endif
        data_ = static_cast<T*>(p);
        capacity_ = n;
    }

    T* data() { return data_; }
    const T* data() const { return data_; }
    std::size_t size() const { return size_; }
    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }

   private:
    T* data_ = nullptr;
    std::size_t size_ = 0, capacity_ = 0;
};

// A std::allocator that hands out 64-byte (cache line) aligned blocks, for
// small std::vectors that vector loops read: an array that starts off a cache
// line splits every other AVX-512 load in two.
template <class T>
struct CacheAlignedAllocator {
    using value_type = T;
    static constexpr std::size_t kAlign = 64;
    CacheAlignedAllocator() = default;
    template <class U>
    CacheAlignedAllocator(const CacheAlignedAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        const std::size_t bytes = (n * sizeof(T) + kAlign - 1) / kAlign * kAlign;
        void* p = std::aligned_alloc(kAlign, bytes == 0 ? kAlign : bytes);
        if (p == nullptr) throw std::bad_alloc();
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t) noexcept { std::free(p); }
    template <class U>
    bool operator==(const CacheAlignedAllocator<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const CacheAlignedAllocator<U>&) const noexcept { return false; }
};

template <class T>
using AlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace emd
