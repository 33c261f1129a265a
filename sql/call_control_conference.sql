-- call_control_conference: conferences (2 to 250 participants, each a leg
-- of the call, with a mode: talk, listen, whisper) and supervision (a
-- supervisor's phone is called and monitors the call's agent: listen,
-- whisper, barge, switched on the live call).  All rolled back.
\set VERBOSITY terse

-- A conference of the call, then a participant dialled in --------------------------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.conference_create('00000000-0000-0000-0000-0000000000c1', 3));
SELECT regress.cc_decide(cc.conference_create('00000000-0000-0000-0000-0000000000c1'));
-- Bob is dialled and joins when he answers
SELECT regress.cc_decide(cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}'));
SELECT id AS bob FROM cc.legs WHERE agent_id = '00000000-0000-0000-0000-000000001002' \gset
SELECT regress.cc_route(:'bob', '{"type": "answered"}');
SELECT regress.cc_label(leg_id) AS participant, mode, state, muted FROM cc.conference_participants ORDER BY created_at, 1;
-- three of three: full
SELECT regress.cc_decide(cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"number": "+15550100"}'));
-- modes: Bob whispers to Ann (the customer no longer hears him), then listens, then talks
SELECT regress.cc_decide(cc.conference_mode('00000000-0000-0000-0000-0000000000c1', :'bob', 'whisper', '00000000-0000-0000-0000-0000000000e2'));
SELECT regress.cc_decide(cc.conference_mode('00000000-0000-0000-0000-0000000000c1', :'bob', 'whisper', '00000000-0000-0000-0000-0000000000e2'));
SELECT regress.cc_decide(cc.conference_mode('00000000-0000-0000-0000-0000000000c1', :'bob', 'listen'));
SELECT regress.cc_decide(cc.conference_mode('00000000-0000-0000-0000-0000000000c1', :'bob', 'talk'));
-- mute and unmute a participant
SELECT regress.cc_decide(cc.conference_mute('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000e1'));
SELECT regress.cc_decide(cc.conference_mute('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000e1'));
SELECT regress.cc_label(leg_id) AS participant, mode, muted FROM cc.conference_participants ORDER BY created_at, 1;
SELECT regress.cc_decide(cc.conference_mute('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000e1', false));
-- the customer cannot leave (that ends the call); Bob can
SELECT regress.cc_decide(cc.conference_leave('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000e1'));
SELECT regress.cc_decide(cc.conference_leave('00000000-0000-0000-0000-0000000000c1', :'bob'));
SELECT regress.cc_route(:'bob', '{"type": "ended", "side": "local"}');
SELECT regress.cc_decide(cc.conference_mode('00000000-0000-0000-0000-0000000000c1', :'bob', 'talk'));
-- a transfer waits until the conference is over
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}'));
SELECT type, leg, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1') WHERE type LIKE 'conference.%';
ROLLBACK;

-- An external party joins listening; it can leave on its own ----------------------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.conference_create('00000000-0000-0000-0000-0000000000c1')) IS NOT NULL AS created;
SELECT regress.cc_decide(cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"number": "+15550100"}', 'listen'));
SELECT id AS ext FROM cc.legs WHERE kind = 'external' \gset
SELECT regress.cc_event(:'ext', '{"type": "answered"}');
SELECT regress.cc_event(:'ext', '{"type": "ended", "side": "remote"}');
SELECT regress.cc_label(leg_id) AS participant, mode, state, left_reason FROM cc.conference_participants ORDER BY created_at, 1;
ROLLBACK;

-- ... a participant dialled who does not answer never joins; a leg that has
-- ended cannot join, nor a leg that is in already.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS consulting;
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT regress.cc_route(:'bob', '{"type": "answered"}') IS NOT NULL AS answered;
-- a consultation in progress: three-way is the way to a conference
SELECT regress.cc_decide(cc.conference_create('00000000-0000-0000-0000-0000000000c1'));
-- cancelled: Bob is on his way out and is no party of the conference
SELECT regress.cc_decide(cc.consult_cancel('00000000-0000-0000-0000-0000000000c1')) IS NOT NULL AS canceled;
SELECT regress.cc_decide(cc.conference_create('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_route(:'bob', '{"type": "ended", "side": "local"}');
SELECT regress.cc_decide(cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"agent": "1003"}')) IS NOT NULL AS dialing;
SELECT id AS cid FROM cc.legs WHERE agent_id = '00000000-0000-0000-0000-000000001003' \gset
SELECT regress.cc_route(:'cid', '{"type": "failed", "code": 480}');
-- Bob's leg has ended: it cannot join; joining Ann again is refused
SELECT regress.cc_decide(cc.conference_join('00000000-0000-0000-0000-0000000000c1', jsonb_build_object('leg', :'bob')));
SELECT regress.cc_decide(cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"leg": "00000000-0000-0000-0000-0000000000e2"}'));
SELECT regress.cc_label(leg_id) AS participant, state, left_reason FROM cc.conference_participants ORDER BY created_at, 1;
ROLLBACK;

-- Refused: a conference of one; conference commands without a conference
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}'));
UPDATE cc.legs SET state = 'ended', ended_at = now(), cause = 'normal' WHERE id = '00000000-0000-0000-0000-0000000000e2';
SELECT regress.cc_decide(cc.conference_create('00000000-0000-0000-0000-0000000000c1'));
ROLLBACK;

-- When the call ends its conference ends, everybody leaves.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.conference_create('00000000-0000-0000-0000-0000000000c1')) IS NOT NULL AS created;
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e1', '{"type": "ended", "side": "remote"}');
SELECT f.state, regress.cc_label(p.leg_id) AS participant, p.state, p.left_reason
  FROM cc.conferences AS f JOIN cc.conference_participants AS p ON p.conference_id = f.id ORDER BY p.created_at, 2;
ROLLBACK;

-- Supervision: listen, then whisper, then barge --------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
-- Sue's phone is called (no call data in its headers) ...
SELECT regress.cc_decide(cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}'));
SELECT id AS sue FROM cc.legs WHERE kind = 'supervisor' \gset
-- ... a switch before she answers applies when she does
SELECT regress.cc_decide(cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}', 'barge'));
SELECT regress.cc_decide(cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}', 'listen'));
-- she answers: she hears Ann and the customer
SELECT regress.cc_route(:'sue', '{"type": "answered"}');
-- whisper: Ann hears her, the customer does not; then barge: both do
SELECT regress.cc_decide(cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"extension": "1009"}', 'whisper'));
SELECT regress.cc_decide(cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}', 'whisper'));
SELECT regress.cc_decide(cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}', 'barge'));
SELECT regress.cc_label(leg_id) AS leg, regress.cc_label(supervisor_agent_id) AS supervisor, party,
       regress.cc_label(target_leg_id) AS target, mode, state FROM cc.supervisions;
-- the supervisor leg does not keep the call: when Ann hangs up, the
-- supervisor is hung up, and as nobody talks with the customer any more
-- and the flow has nothing after (stand-in flow_resume), the router ends
-- the call: the customer is hung up too
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "remote"}');
SELECT type, leg, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1') WHERE type LIKE 'supervision.%';
ROLLBACK;

-- ... the supervisor follows the call to the next agent (a warm transfer) -----------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}')) IS NOT NULL AS monitor;
SELECT id AS sue FROM cc.legs WHERE kind = 'supervisor' \gset
SELECT regress.cc_route(:'sue', '{"type": "answered"}') IS NOT NULL AS answered;
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS consulting;
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT regress.cc_route(:'bob', '{"type": "answered"}') IS NOT NULL AS answered;
SELECT regress.cc_decide(cc.consult_transfer('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "local"}');
SELECT regress.cc_label(target_leg_id) AS target, mode, state FROM cc.supervisions;
-- the supervisor hangs up: the supervision ends, the call goes on
SELECT regress.cc_route(:'sue', '{"type": "ended", "side": "remote"}');
SELECT state FROM cc.supervisions;
SELECT state FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
ROLLBACK;

-- ... refused: no agent to supervise; an agent supervising its own call.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1001"}'));
UPDATE cc.legs SET state = 'ended', ended_at = now(), cause = 'normal' WHERE id = '00000000-0000-0000-0000-0000000000e2';
SELECT regress.cc_decide(cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}'));
ROLLBACK;
