// Which files an arm installs into the exitrd (the final stage, its loader
// and libraries, haltfw-inert), and whether it needs to read them at all.
// Read and compared byte for byte, they are some 3 MiB on every arm and
// every halt (a halt arms again), so an arm takes them as the exitrd holds
// them when the last arm's record (ExitrdRecord, exitrd.h) still holds.
// Around apply and readiness, which take seconds (--wait-devices, a large
// ruleset), an arm goes to the exitrd three times:
//   1. before apply: FilesByRecord; if the record does not hold,
//      ReadFinalStageFiles (a bad final stage should change nothing at all);
//   2. right before ArmHalt: RecordStillHolds judges the record's stamps
//      again (stat calls only); if they no longer hold, ReadFinalStageFiles;
//   3. after an ArmHalt that read the files: RecordFinalStageFiles, the
//      record the next arm goes by.
#pragma once

#include <string>

#include "arm/arm.h"
#include "arm/exitrd.h"
#include "arm/say.h"

namespace haltfw {

/// Where the files come from.
struct FinalStageSource {
    std::string final_path;  ///< The final stage (haltfw-final, or --final).
    /// haltfw-inert. With the installed final stage it is required (the
    /// package ships both); with another one it is optional.
    std::string inert_path;
    bool inert_required = true;
};

/// The haltfw-inert arm installs: `inert_path` if it is there or required
/// (a required one that is missing fails the read), else "" for none.
std::string InertToInstall(const FinalStageSource& src);

/// Whether the exitrd holds the files as the last arm recorded them: then
/// `ap` says so (files_current, recorded_files, recorded_inert), nothing of
/// them is read or compared, and *rec is that record. Why a record was not
/// taken goes to `say` as detail.
bool FilesByRecord(const FinalStageSource& src, ArmPlan* ap, ExitrdRecord* rec, const Say& say);

/// Whether `rec`, taken by FilesByRecord for `ap`, still holds (true if the
/// files were read instead).
bool RecordStillHolds(const FinalStageSource& src, const ArmPlan& ap, const ExitrdRecord& rec);

/// What ReadFinalStageFiles found missing.
enum class FinalStageMissing { kNothing, kFinalStage, kInert };

/// Reads the final stage and what it needs to run in the exitrd
/// (LoadExitrdFiles), and haltfw-inert (InertToInstall), into `ap`, with
/// the ExitrdContext stamped before the loader lists the libraries. False
/// with *err (exitrd.h's wording) and *missing when one is not there.
bool ReadFinalStageFiles(const FinalStageSource& src, ArmPlan* ap, std::string* err, FinalStageMissing* missing);

/// After an arm that read the files: the record that lets the next one
/// skip that. Without it (a source changed just now, say) the next arm
/// compares them again, and an old record, which the exitrd no longer
/// matches, is removed; said as detail, or as a warning if it stays.
void RecordFinalStageFiles(const ArmPlan& ap, const Say& say);

}  // namespace haltfw
