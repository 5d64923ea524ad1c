# CMake toolchain file: cross-compile for arm64 (aarch64, e.g. NVIDIA Jetson)
# on an x86_64 Debian machine with crossbuild-essential-arm64 and the arm64
# libraries from multiarch (/usr/lib/aarch64-linux-gnu). scripts/build-arm64
# installs all of it and uses this file:
#
#   cmake -S . -B build/arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# Test programs run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so
# `ctest --test-dir build/arm64 -L unit` runs the arm64 unit tests on x86_64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(RUTH_ARM64_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${RUTH_ARM64_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${RUTH_ARM64_TRIPLET}-g++)

# Headers and libraries: the cross libc under /usr/aarch64-linux-gnu, the
# rest from multiarch /usr (Debian's cross gcc already searches
# /usr/include/aarch64-linux-gnu and /usr/lib/aarch64-linux-gnu).
set(CMAKE_FIND_ROOT_PATH /usr/${RUTH_ARM64_TRIPLET} /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_LIBRARY_ARCHITECTURE ${RUTH_ARM64_TRIPLET})

# pkg-config must see the arm64 .pc files only, never the native ones.
# RUTH_ARM64_PKG_CONFIG_PATH (set by scripts/build-arm64) adds the unpacked
# libpq-dev and libavro-dev; it is cached so a re-configure keeps it.
set(RUTH_ARM64_PKG_CONFIG_PATH "$ENV{RUTH_ARM64_PKG_CONFIG_PATH}"
    CACHE STRING "extra arm64 pkg-config folders (scripts/build-arm64)")
set(ENV{PKG_CONFIG_PATH} "${RUTH_ARM64_PKG_CONFIG_PATH}")
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${RUTH_ARM64_TRIPLET}/pkgconfig:/usr/share/pkgconfig")

# Binaries built here run on x86_64 through qemu-user. binfmt_misc may not
# be registered (containers), so the emulator is named explicitly. `-L /`:
# the arm64 dynamic loader is multiarch libc6:arm64's /lib/ld-linux-aarch64.so.1,
# the same glibc build as the libc.so.6 and every library it then loads from
# /usr/lib/aarch64-linux-gnu. Never `-L /usr/aarch64-linux-gnu`: that takes
# the loader of the cross toolchain's libc6-arm64-cross (another glibc
# build, 2.36-8cross1 in bookworm) while libc.so.6 still comes from
# multiarch (2.36-9+deb12u*), and their mismatched internal state makes the
# first pthread_create spin forever (seen in rd_kafka_new).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L /)

# The unpacked -dev packages' link folder is for the linker only (their .so
# links point into /usr/lib/aarch64-linux-gnu): no run path into the cache.
set(CMAKE_SKIP_RPATH ON)
