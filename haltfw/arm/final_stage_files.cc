#include "arm/final_stage_files.h"

#include <unistd.h>

#include <utility>

#include "arm/files.h"

namespace haltfw {

std::string InertToInstall(const FinalStageSource& src) {
    return access(src.inert_path.c_str(), F_OK) == 0 || src.inert_required ? src.inert_path : "";
}

bool FilesByRecord(const FinalStageSource& src, ArmPlan* ap, ExitrdRecord* rec, const Say& say) {
    ap->files_current = false;
    std::string root = ExitrdRoot(), text, err, why;
    ExitrdState st;
    if (!ReadExitrdState(root, &st, &err) || !st.Usable() || !ReadWholeFile(ExitrdRecordPath(root), &text, &err))
        return false;
    if (!ParseExitrdRecord(text, rec, &err)) {
        say(Tone::kDetail, "exitrd: " + ExitrdRecordPath(root) + ": " + err + "; comparing the files");
        return false;
    }
    std::string inert = InertToInstall(src);
    if (!ExitrdRecordCurrent(*rec, root, src.final_path, inert, StampFile, &why)) {
        say(Tone::kDetail, "exitrd: not as recorded (" + why + "); comparing the files");
        return false;
    }
    ap->files_current = true;
    ap->recorded_inert = !inert.empty();
    ap->recorded_files = rec->entries.size() - (ap->recorded_inert ? 1 : 0);
    return true;
}

bool RecordStillHolds(const FinalStageSource& src, const ArmPlan& ap, const ExitrdRecord& rec) {
    std::string why;
    return !ap.files_current ||
           ExitrdRecordCurrent(rec, ap.exitrd, src.final_path, InertToInstall(src), StampFile, &why);
}

bool ReadFinalStageFiles(const FinalStageSource& src, ArmPlan* ap, std::string* err, FinalStageMissing* missing) {
    *missing = FinalStageMissing::kNothing;
    ap->files_current = false;
    ap->context = StampExitrdContext(StampFile);  // before the loader lists the libraries
    if (!LoadExitrdFiles(src.final_path, &ap->files, err)) {
        if (access(src.final_path.c_str(), F_OK) != 0) *missing = FinalStageMissing::kFinalStage;
        return false;
    }
    std::string inert_path = InertToInstall(src);
    if (inert_path.empty()) return true;
    bool absent = access(inert_path.c_str(), F_OK) != 0;
    ExitrdFile inert;
    if (!LoadInertFile(inert_path, &inert, err)) {
        if (absent) *missing = FinalStageMissing::kInert;
        return false;
    }
    ap->inert = std::move(inert);
    return true;
}

void RecordFinalStageFiles(const ArmPlan& ap, const Say& say) {
    std::string path = ExitrdRecordPath(ap.exitrd), err, why;
    ExitrdRecord rec;
    bool removed = false;
    bool built =
        BuildExitrdRecord(ap.exitrd, ap.files, ap.inert ? &*ap.inert : nullptr, ap.context, StampFile, &rec, &why);
    if (built && WriteFileAtomic(path, SerializeExitrdRecord(rec), 0600, &err)) return;
    say(Tone::kDetail, "exitrd: no record of its files (" + (built ? err : why) + "): the next arm compares them");
    if (!RemoveFile(path, &removed, &err))
        say(Tone::kWarning, err + "; the next arm may take the exitrd's files by an old record");
}

}  // namespace haltfw
