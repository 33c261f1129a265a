"""test_sip.py: end-to-end tests of issue 3 (SIP signalling), one test per
"Done when" line 1-8, each named after its line, with sipp as the peer
(scenarios in test/sipp/).  Line 9 is bench/sip_call_rate.py.

The tests share one cluster; each makes its own numbers, trunks and agents
(distinct digits), and forgets failed authentications before it starts,
since every peer here sends from 127.0.0.x.
"""

import time

import harness
from harness import wait_until
import sip_util as su
