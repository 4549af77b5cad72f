#pragma once
// junit.xml: the run as JUnit XML for CI systems (Jenkins, GitLab, GitHub
// test reporters). One <testsuite> per cell, one <testcase> per scenario check.

#include <string>
#include <string_view>

#include "report/summary.h"

namespace archmatrix::report {

/// Guest text made safe to put in any document: invalid UTF-8 bytes become
/// U+FFFD; terminal escape sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL")
/// are removed whole; every other character XML 1.0 does not allow (C0
/// controls but tab, newline and carriage return, U+FFFE, U+FFFF) and the
/// C1 controls and DEL are dropped. The result is valid UTF-8. Escaping for
/// the target format is still the caller's job. Every report format of
/// archmatrix starts from this.
std::string xml_safe_text(std::string_view s);

/// The JUnit document. Per cell a <testsuite name="cell id"> with
/// <properties> (arch, axis.*, kernel.*, fact.*, end, console_log), per
/// check a <testcase classname="cell id" name="scenario/check"
/// time="scenario seconds">: FAIL and XPASS as <failure>, TIMEOUT, CRASH,
/// ERROR and NOTRUN as <error>, XFAIL and UNSUPPORTED as <skipped
/// message="reason">, with the scenario's stdout and stderr as <system-out>
/// and <system-err>. tests/failures/errors/skipped counts on every
/// <testsuite> and on the root <testsuites>. Deterministic; text escaped,
/// never CDATA. Validates against tests/fixtures/junit/junit.xsd.
std::string junit_xml(const RunSummary& s);

}  // namespace archmatrix::report
