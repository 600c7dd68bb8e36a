-- A member's likes in one index range. A feed page asks whether the viewer
-- liked each of its posts; without this, a plan that cannot probe the
-- primary key post by post (the generic plan of the prepared statement,
-- which does not know the viewer) read every like of the tenant to find
-- the viewer's. Deleting a profile also finds its likes here.
CREATE INDEX social_likes_member_idx ON social_likes (tenant_id, member_id, post_id);
