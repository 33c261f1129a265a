-- call_control_consult: consultations.  The agent holds the customer and
-- calls a second party (an agent, an idle agent of a queue, a phone, a
-- number); before it answers the consultation can be cancelled, leaving the
-- call as it was; once answered it can be cancelled, become a three-way
-- call (a conference), or become a warm transfer when the first agent
-- leaves (cc.consult_transfer, or by hanging up).  All rolled back.
\set VERBOSITY terse

-- Consult, then three-way, then the first agent leaves --------------------------------
BEGIN;
SELECT regress.cc_fixture();
-- the customer hears the queue's hold music while Bob's phone rings
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}'));
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT * FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1');
SELECT regress.cc_route(:'bob', '{"type": "ringing", "code": 180}');
-- Bob answers: Ann talks with Bob, the customer still holds
SELECT regress.cc_route(:'bob', '{"type": "answered"}');
SELECT kind, state, regress.cc_label(from_leg_id) AS from_leg, regress.cc_label(to_leg_id) AS to_leg FROM cc.transfers;
-- three-way: the three in a conference, the customer off hold
SELECT regress.cc_decide(cc.consult_three_way('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_label(p.leg_id) AS participant, p.mode, p.state, f.state AS conference, f.max_participants
  FROM cc.conference_participants AS p JOIN cc.conferences AS f ON f.id = p.conference_id ORDER BY p.created_at, 1;
-- the first agent leaves: the customer and Bob go on
SELECT regress.cc_decide(cc.consult_transfer('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "local"}');
SELECT state, regress.cc_label(agent_id) AS agent FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT kind, state, reason FROM cc.transfers;
SELECT regress.cc_label(leg_id) AS participant, state, left_reason FROM cc.conference_participants ORDER BY created_at, 1;
SELECT * FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1');
SELECT type, leg, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1') WHERE type NOT LIKE 'leg.%';
-- when Bob hangs up in turn, nobody is left with the customer: the router's part
SELECT regress.cc_route(:'bob', '{"type": "ended", "side": "remote"}');
SELECT state, end_cause, hangup_side FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
ROLLBACK;

-- A three-way call where the first agent simply hangs up is a warm transfer too.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"extension": "1002"}')) IS NOT NULL AS consulting;
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT regress.cc_route(:'bob', '{"type": "answered"}') IS NOT NULL AS answered;
SELECT regress.cc_decide(cc.consult_three_way('00000000-0000-0000-0000-0000000000c1')) IS NOT NULL AS three_way;
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "remote"}');
SELECT kind, state, reason FROM cc.transfers;
SELECT state, regress.cc_label(agent_id) AS agent FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
ROLLBACK;

-- A consultation cancelled before it answers leaves the call as it was -----------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS consulting;
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT regress.cc_route(:'bob', '{"type": "ringing", "code": 180}');
-- too early for these
SELECT regress.cc_decide(cc.consult_three_way('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.consult_transfer('00000000-0000-0000-0000-0000000000c1'));
-- cancel: Bob's phone stops ringing, the customer comes off hold (still bridged with Ann)
SELECT regress.cc_decide(cc.consult_cancel('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_route(:'bob', '{"type": "failed", "code": 487}');
-- (had Bob answered as the CANCEL crossed his 200, he would be hung up)
SELECT regress.cc_show(cc.call_control_leg_answered(c, l, '{"type": "answered"}'))
  FROM cc.calls AS c, cc.legs AS l WHERE l.id = :'bob' AND c.id = l.call_id;
SELECT * FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1');
SELECT state, regress.cc_label(agent_id) AS agent FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT kind, state, reason FROM cc.transfers;
-- nothing to cancel any more
SELECT regress.cc_decide(cc.consult_cancel('00000000-0000-0000-0000-0000000000c1'));
ROLLBACK;

-- ... cancelled after it answered: Bob leaves, the customer is bridged with Ann again.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS consulting;
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT regress.cc_route(:'bob', '{"type": "answered"}') IS NOT NULL AS answered;
SELECT regress.cc_decide(cc.consult_cancel('00000000-0000-0000-0000-0000000000c1'));
SELECT leg, hold_state FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1') WHERE leg = 'customer';
ROLLBACK;

-- ... that fails (busy): the customer comes off hold, with Ann.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS consulting;
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT regress.cc_route(:'bob', '{"type": "failed", "code": 486}');
SELECT kind, state, reason FROM cc.transfers;
SELECT state FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
ROLLBACK;

-- ... whose consulted party hangs up: back to the customer and Ann.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS consulting;
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT regress.cc_route(:'bob', '{"type": "answered"}') IS NOT NULL AS answered;
SELECT regress.cc_route(:'bob', '{"type": "ended", "side": "remote"}');
SELECT kind, state, reason FROM cc.transfers;
ROLLBACK;

-- ... whose first agent hangs up while talking with the consulted party: warm transfer.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS consulting;
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT regress.cc_route(:'bob', '{"type": "answered"}') IS NOT NULL AS answered;
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "remote"}');
SELECT kind, state, reason FROM cc.transfers;
SELECT state, regress.cc_label(agent_id) AS agent FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
ROLLBACK;

-- ... whose first agent hangs up while it still rings: the consulted party gets
-- the customer when it answers.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS consulting;
SELECT id AS bob FROM cc.legs WHERE kind = 'consult' \gset
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "remote"}');
SELECT state FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT regress.cc_route(:'bob', '{"type": "answered"}');
SELECT kind, state, reason FROM cc.transfers;
SELECT state, regress.cc_label(agent_id) AS agent FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
ROLLBACK;

-- Consult a queue (its free agent), an external number; what is refused ------------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}'));
SELECT kind, state, regress.cc_label(to_agent_id) AS to_agent, regress.cc_label(to_queue_id) AS queue,
       regress.cc_show(target) AS target FROM cc.transfers;
-- one consultation at a time, and no blind transfer meanwhile
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}'));
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "sales"}'));
ROLLBACK;
BEGIN;
SELECT regress.cc_fixture();
-- Cid is busy: nobody in support is free (a crafted state: the queues'
-- guard on direct UPDATEs of agents' states is lifted for the transaction)
SELECT set_config('pg_callcenter.agent_state_writer', 'on', true) IS NOT NULL AS crafting_states;
UPDATE cc.agents SET state = 'talking' WHERE extension = '1003';
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}'));
-- an agent cannot consult itself
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1001"}'));
-- an external number, through the trunk from our number
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"number": "+15550100", "ring_timeout_s": 25}'));
ROLLBACK;
BEGIN;
SELECT regress.cc_fixture();
-- with nobody talking to the customer there is nothing to consult for
UPDATE cc.legs SET state = 'ended', ended_at = now(), cause = 'normal' WHERE id = '00000000-0000-0000-0000-0000000000e2';
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}'));
ROLLBACK;

-- When the customer hangs up during a consultation, the call ends and the
-- consultation with it.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS consulting;
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e1', '{"type": "ended", "side": "remote"}');
SELECT kind, state, reason FROM cc.transfers;
ROLLBACK;
