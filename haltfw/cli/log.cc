#include "cli/log.h"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace haltfw {

bool IsJournalStream(int fd, const char* journal_stream) {
    if (!journal_stream) return false;
    char* end = nullptr;
    errno = 0;
    unsigned long long dev = std::strtoull(journal_stream, &end, 10);
    if (errno || end == journal_stream || *end != ':') return false;
    const char* ino_text = end + 1;
    unsigned long long ino = std::strtoull(ino_text, &end, 10);
    if (errno || end == ino_text || *end != '\0') return false;
    struct stat st;
    if (fstat(fd, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

Log Log::ForProcess(Verbosity v) {
    const char* js = std::getenv("JOURNAL_STREAM");
    return Log(v, {STDOUT_FILENO, IsJournalStream(STDOUT_FILENO, js)},
               {STDERR_FILENO, IsJournalStream(STDERR_FILENO, js)});
}

bool Log::Shows(Priority p) const {
    switch (verbosity_) {
    case Verbosity::kQuiet: return p <= Priority::kWarning;
    case Verbosity::kNormal: return p <= Priority::kInfo;
    case Verbosity::kVerbose: return true;
    }
    return true;
}

void Log::Say(Priority p, std::string_view text) const {
    if (!Shows(p)) return;
    if (p > Priority::kWarning) return Write(out_, p, "", text);
    Write(err_, p, p == Priority::kErr ? "haltfw: " : "haltfw: warning: ", text);
}

void Log::Detail(Priority p, std::string_view text) const {
    if (Shows(p)) Write(err_, p, "", text);
}

void Log::Result(std::string_view text, Priority p) const { Write(out_, p, "", text); }

// One write per line, so that lines of stdout and stderr interleave in the
// order they were said, whatever the buffering of the other stream. In the
// journal the identifier (haltfw) and the priority take the place of the
// "haltfw: warning: " prefix.
void Log::Write(const Stream& s, Priority p, std::string_view prefix, std::string_view text) const {
    static constexpr const char* kLevel[] = {SD_EMERG,   SD_ALERT,  SD_CRIT, SD_ERR,
                                             SD_WARNING, SD_NOTICE, SD_INFO, SD_DEBUG};
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    size_t start = 0;
    do {
        size_t nl = text.find('\n', start);
        std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        std::string out = s.journal ? std::string(kLevel[static_cast<int>(p)]) : std::string(prefix);
        out.append(line).push_back('\n');
        for (size_t done = 0; done < out.size();) {
            ssize_t n = write(s.fd, out.data() + done, out.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // a closed stdout: nowhere left to say it
            done += static_cast<size_t>(n);
        }
        start = nl == std::string_view::npos ? text.size() : nl + 1;
    } while (start < text.size());
}

}  // namespace haltfw
