-- Tell price-history points from current-price snapshots: only history moves a market's history cursor,
-- per outcome, so a snapshot landing while the history endpoint is down cannot skip that history.
alter table odds_snapshots add column point_kind varchar default 'history';   -- history | snapshot
