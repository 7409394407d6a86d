#include "net/sysctl.h"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace haltfw;

namespace {

// Why a kernel.* key that is not a panic setting is refused.
constexpr const char* kKernelWhy =
    "under kernel.* only the panic settings can be set (kernel.panic, kernel.panic_on_oops, kernel.panic_on_warn, "
    "kernel.unknown_nmi_panic, kernel.panic_on_unrecovered_nmi, kernel.panic_on_io_nmi, kernel.softlockup_panic, "
    "kernel.hung_task_panic)";

std::string KeyWhy(const std::string& key) {
    std::string why;
    return CheckSysctlKey(key, &why) ? "" : why;
}

std::string ValueWhy(const std::string& value) {
    std::string why;
    return CheckSysctlValue(value, &why) ? "" : why;
}

}  // namespace

TEST_CASE("sysctl keys that are paths, or outside net.*, are refused with the reason") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"net.//.kernel.hostname", "component '//' would be '..' (a '/' stands for a '.' in an interface name)"},
        {"net.ipv4.//.//.kernel.modprobe",
         "component '//' would be '..' (a '/' stands for a '.' in an interface name)"},
        {"net./.ipv4.ip_forward", "component '/' would be '.' (a '/' stands for a '.' in an interface name)"},
        {"net..ipv4.ip_forward", "empty component"},
        {"net.ipv4.ip_forward.", "empty component"},
        {"net.", "empty component"},
        {"net.ipv4..", "empty component"},
        {"net.ipv4.conf.../kernel", "empty component"},
        {"net.ipv4\\x",
         "character '\\x5c' is not allowed (letters, digits, '_', '-', '@', '+', and '/' for a '.' in an interface "
         "name)"},
        {"net.ipv4.ip forward",
         "character ' ' is not allowed (letters, digits, '_', '-', '@', '+', and '/' for a '.' in an interface name)"},
        {std::string("net.ipv4.a\0b", 12),
         "character '\\x00' is not allowed (letters, digits, '_', '-', '@', '+', and '/' for a '.' in an interface "
         "name)"},
        {"net.ipv4.a\x1b[2Jb",
         "character '\\x1b' is not allowed (letters, digits, '_', '-', '@', '+', and '/' for a '.' in an interface "
         "name)"},
        {"kernel.hostname", kKernelWhy},
        {"kernel.modprobe", kKernelWhy},
        {"kernel.panic.x", kKernelWhy},
        {"kernel.panic_", kKernelWhy},
        {"kernel.", kKernelWhy},
        {"net", "only keys under net.* (and the kernel.* panic settings) can be set"},
        {"/proc/sys/net/ipv4/ip_forward", "only keys under net.* (and the kernel.* panic settings) can be set"},
        {".net.ipv4.ip_forward", "only keys under net.* (and the kernel.* panic settings) can be set"},
        {"netfilter.x", "only keys under net.* (and the kernel.* panic settings) can be set"},
        {"", "only keys under net.* (and the kernel.* panic settings) can be set"},
    };
    for (const auto& [key, why] : cases) {
        INFO(key);
        CHECK(KeyWhy(key) == why);
    }
}

TEST_CASE("sysctl keys as the kernel and sysctl(8) name them pass") {
    for (const char* key :
         {"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv6.conf.eth0/100.accept_ra",
          "net.ipv4.conf.br-lan.rp_filter", "net.ipv4.conf.wg_0.forwarding", "net.ipv6.conf.veth@x+y.autoconf",
          "net.ipv4.conf.eth0/.rp_filter", "net.ipv4.conf.///.rp_filter", "net.core.somaxconn", "kernel.panic",
          "kernel.panic_on_oops", "kernel.unknown_nmi_panic", "kernel.hung_task_panic"}) {
        INFO(key);
        CHECK(KeyWhy(key).empty());
    }
}

TEST_CASE("SysctlPath never leaves /proc/sys/net for a key that passes") {
    CHECK(SysctlPath("net.ipv6.conf.eth0/100.accept_ra") == "/proc/sys/net/ipv6/conf/eth0.100/accept_ra");
    CHECK(SysctlPath("net.ipv4.conf.///.rp_filter") == "/proc/sys/net/ipv4/conf/.../rp_filter");
}

TEST_CASE("ReadSysctl and WriteSysctl refuse a bad key before any system call") {
    std::string v, err;
    CHECK_FALSE(WriteSysctl("net.//.kernel.hostname", "x", &err));
    CHECK(err ==
          "write 'net.//.kernel.hostname': refused: component '//' would be '..' (a '/' stands for a '.' in an "
          "interface name)");
    CHECK_FALSE(ReadSysctl("kernel.modprobe", &v, &err));
    CHECK(err == std::string("read 'kernel.modprobe': refused: ") + kKernelWhy);
}

TEST_CASE("sysctl values are compared and written in the kernel's form") {
    const std::vector<std::pair<std::string, std::string>> forms = {
        {"1", "1"},
        {"01", "1"},
        {"0001", "1"},
        {"00", "0"},
        {"-0", "0"},
        {"-01", "-1"},
        {"007", "7"},
        {"0x10", "16"},
        {"0XfF", "255"},
        {"64 \t", "64"},
        {"  64", "64"},
        {"4096 87380  6291456", "4096\t87380\t6291456"},
        {"4096\t87380\t6291456", "4096\t87380\t6291456"},
        {"reno  cubic", "reno cubic"},
        {"cubic", "cubic"},
        {"1 x", "1 x"},
        {"010", "010"},  // ambiguous: not a number here (CheckSysctlValue refuses it in a config)
        {"18446744073709551616", "18446744073709551616"},  // past 64 bits: a word
        {"", ""},
    };
    for (const auto& [in, out] : forms) {
        INFO(in);
        CHECK(SysctlKernelForm(in) == out);
    }
    CHECK(SysctlValuesEqual("01", "1"));
    CHECK(SysctlValuesEqual("64 \t", "64"));
    CHECK(SysctlValuesEqual("4096 131072 6291456", "4096\t131072\t6291456"));
    CHECK_FALSE(SysctlValuesEqual("1", "2"));
    CHECK_FALSE(SysctlValuesEqual("010", "10"));
    CHECK_FALSE(SysctlValuesEqual("010", "8"));
}

TEST_CASE("sysctl values the kernel would read otherwise, or not at all, are refused") {
    CHECK(ValueWhy("1").empty());
    CHECK(ValueWhy("01").empty());
    CHECK(ValueWhy("4096\t87380 6291456").empty());
    CHECK(ValueWhy("010") ==
          "the kernel reads a number with a leading 0 as octal ('010' is 8): write it without the 0");
    CHECK(ValueWhy("1 -010") ==
          "the kernel reads a number with a leading 0 as octal ('-010' is -8): write it without the 0");
    CHECK(ValueWhy("08") ==
          "the kernel reads a number with a leading 0 as octal ('08' is not octal): write it without the 0");
    CHECK(ValueWhy(" \t") == "empty value");
    CHECK(ValueWhy("1\x1b[2J") == "control byte '\\x1b' (words are separated by spaces or tabs)");
    CHECK(ValueWhy("1\n2") == "control byte '\\x0a' (words are separated by spaces or tabs)");
    CHECK(ValueWhy(std::string(4095, '1')).empty());
    CHECK(ValueWhy(std::string(4096, '1')) == "longer than 4095 bytes, the most the kernel parses");
}
