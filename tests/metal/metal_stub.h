/* Metal Shading Language stand-in for a C++ syntax/type check of rendered kernels on
 * machines without Apple's Metal compiler (tests/metal). Included as <metal_stdlib>
 * (the build writes a one-line metal_stdlib that includes this file), then g++
 * -std=c++17 -fsyntax-only checks every kernel the Metal plugin renders.
 *
 * It declares only what the renderer emits, with Metal's types and rules where C++ can
 * state them: 8..64-bit integer and half scalars, T2/T3/T4 vectors with lane access by
 * [] and no implicit conversion between vector types, uint3 thread positions with
 * .x/.y/.z, as_type<T> requiring equal sizes, threadgroup_barrier(mem_flags), and the
 * float math functions. Address-space keywords (device, threadgroup, constant, thread)
 * and `kernel` expand to nothing, and [[buffer(n)]]-style attributes are ignored
 * (-Wno-attributes). What this cannot check: address-space rules, Metal's own
 * overload set and limits; only Apple's compiler can. */
#ifndef CG_METAL_STUB_H
#define CG_METAL_STUB_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace metal {
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
typedef _Float16 half; /* IEEE binary16, as Metal's half */
static_assert(sizeof(long) == 8 && sizeof(ulong) == 8, "Metal's long is 64-bit");
static_assert(sizeof(half) == 2, "half is 16-bit");

/* A Metal vector: N lanes of T, built from N scalars or one broadcast scalar. */
template <class T, int N> struct vec {
  T v[N];
  vec() = default;
  template <class... A, typename std::enable_if<sizeof...(A) == N, int>::type = 0>
  vec(A... a) : v{static_cast<T>(a)...} {
    static_assert(((std::is_arithmetic<A>::value || std::is_same<A, half>::value) && ...),
                  "vector lanes must be scalars");
  }
  explicit vec(T s) {
    for (int i = 0; i < N; i++) v[i] = s;
  }
  T &operator[](int i) { return v[i]; }
  const T &operator[](int i) const { return v[i]; }
};

#define CG_METAL_VECS(T) typedef vec<T, 2> T##2; typedef vec<T, 3> T##3; typedef vec<T, 4> T##4;
CG_METAL_VECS(char)
CG_METAL_VECS(uchar)
CG_METAL_VECS(short)
CG_METAL_VECS(ushort)
CG_METAL_VECS(int)
CG_METAL_VECS(long)
CG_METAL_VECS(ulong)
CG_METAL_VECS(half)
CG_METAL_VECS(float)
CG_METAL_VECS(bool)
#undef CG_METAL_VECS
typedef vec<uint, 2> uint2;
typedef vec<uint, 4> uint4;

/* uint3: thread positions (gid.x) and 3-lane uint vectors (v[1]). */
struct uint3 {
  uint x, y, z;
  uint3() = default;
  uint3(uint a, uint b, uint c) : x(a), y(b), z(c) {}
  explicit uint3(uint s) : x(s), y(s), z(s) {}
  uint &operator[](int i) { return i == 0 ? x : i == 1 ? y : z; }
  const uint &operator[](int i) const { return i == 0 ? x : i == 1 ? y : z; }
};

/* Reinterpret the bits of s as T; Metal requires equal sizes. */
template <class T, class S> T as_type(S s) {
  static_assert(sizeof(T) == sizeof(S), "as_type: source and destination sizes differ");
  T t;
  std::memcpy(&t, &s, sizeof t);
  return t;
}

enum class mem_flags { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4 };
inline void threadgroup_barrier(mem_flags) {}

/* Math on float (the renderer converts half arguments to float itself). */
inline float exp2(float x) { return std::exp2(x); }
inline float log2(float x) { return std::log2(x); }
inline float sin(float x) { return std::sin(x); }
inline float sqrt(float x) { return std::sqrt(x); }
inline float trunc(float x) { return std::trunc(x); }
inline float pow(float x, float y) { return std::pow(x, y); }
} // namespace metal

/* Address spaces and the kernel qualifier: nothing to check in C++. */
#define kernel
#define device
#define threadgroup
#define constant
#define thread

#endif
