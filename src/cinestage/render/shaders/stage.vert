#version 130
// Per-vertex colour, world-space position and normal for the stage lighting pass.
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform mat4 p3d_ModelMatrix;
uniform mat4 p3d_ViewMatrixInverse;
in vec4 p3d_Vertex;
in vec3 p3d_Normal;
in vec4 p3d_Color;
uniform vec4 tint;
out vec3 world_pos;
out vec3 world_normal;
out vec4 colour;
out vec3 camera_pos;

void main() {
    gl_Position = p3d_ModelViewProjectionMatrix * p3d_Vertex;
    world_pos = (p3d_ModelMatrix * p3d_Vertex).xyz;
    world_normal = normalize(mat3(p3d_ModelMatrix) * p3d_Normal);
    colour = p3d_Color * tint;
    camera_pos = p3d_ViewMatrixInverse[3].xyz;
}
