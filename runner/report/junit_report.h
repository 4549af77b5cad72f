#pragma once
// junit.xml: the run as JUnit XML for CI systems (Jenkins, GitLab, GitHub
// test reporters). One <testsuite> per cell, one <testcase> per scenario check.

#include <string>

#include "report/summary.h"

namespace archmatrix::report {

/// The JUnit document. Per cell a <testsuite name="cell id"> with
/// <properties> (arch, axis.*, kernel.*, fact.*, end, console_log), per
/// check a <testcase classname="cell id" name="scenario/check"
/// time="scenario seconds">: FAIL and XPASS as <failure>, TIMEOUT, CRASH,
/// ERROR and NOTRUN as <error>, XFAIL and UNSUPPORTED as <skipped
/// message="reason">, with the scenario's stdout and stderr as <system-out>
/// and <system-err>. tests/failures/errors/skipped counts on every
/// <testsuite> and on the root <testsuites>. Deterministic; text escaped,
/// never CDATA (util::xml_escape). Validates against tests/fixtures/junit/junit.xsd.
std::string junit_xml(const RunSummary& s);

}  // namespace archmatrix::report
